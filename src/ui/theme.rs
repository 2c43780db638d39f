//! Semantic styles (STYLE.md 14): screens ask for a *meaning* (debiased, biased, gain, loss …)
//! and this module alone decides how it looks, so colours stay consistent and can change in one
//! place.

use ratatui::style::{Color, Modifier, Style};

/// What a piece of text or a bar means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Meaning {
    /// The interventional (`do`) ranking and its numbers.
    Debiased,
    /// The observational (`raw`) ranking and what the confounders add.
    Biased,
    /// A positive contribution or an improvement.
    Gain,
    /// A negative contribution or a regression.
    Loss,
    /// Secondary text: labels, hints, units.
    Muted,
    /// Something needing attention: errors, confirmations.
    Alert,
    /// A confounder (the backdoor set `{H, G}`) and its paths.
    Confounder,
    /// A treatment node (user, item).
    Treatment,
    /// The target behavior.
    Target,
    /// An auxiliary behavior (a mediator the MoE fuses).
    Mediator,
    /// The current selection.
    Selected,
    /// Panel titles.
    Title,
    /// Plain text.
    #[default]
    Normal,
    /// A satisfied check.
    Ok,
    /// A key name in hints and help.
    Key,
}

/// The style of a meaning.
pub fn style(m: Meaning) -> Style {
    let s = Style::default();
    match m {
        Meaning::Debiased => s.fg(Color::Cyan),
        Meaning::Biased => s.fg(Color::Magenta),
        Meaning::Gain => s.fg(Color::Green),
        Meaning::Loss => s.fg(Color::Red),
        Meaning::Muted => s.fg(Color::DarkGray),
        Meaning::Alert => s.fg(Color::Yellow).add_modifier(Modifier::BOLD),
        Meaning::Confounder => s.fg(Color::Yellow),
        Meaning::Treatment => s.fg(Color::Cyan),
        Meaning::Target => s.fg(Color::Green).add_modifier(Modifier::BOLD),
        Meaning::Mediator => s.fg(Color::Blue),
        Meaning::Selected => s.add_modifier(Modifier::REVERSED),
        Meaning::Title => s.add_modifier(Modifier::BOLD),
        Meaning::Normal => s,
        Meaning::Ok => s.fg(Color::Green),
        Meaning::Key => s.fg(Color::Cyan).add_modifier(Modifier::BOLD),
    }
}

/// Gain or Loss by sign (zero counts as gain).
pub fn signed(v: f64) -> Meaning {
    if v < 0.0 {
        Meaning::Loss
    } else {
        Meaning::Gain
    }
}
