//! Key bindings as data (STYLE.md 2). [`BINDINGS`] is the single table: [`action_for`] looks keys
//! up in it, the help overlay, the footer hints and the key table of `docs/EXPLORER.md`
//! ([`markdown`]) are generated from it, so they cannot drift apart.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::{Action, Screen};
use super::app::App;

/// One key, optionally with Ctrl. Letters are matched as typed (`T` is Shift-t).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// The key.
    pub code: KeyCode,
    /// Ctrl held.
    pub ctrl: bool,
}

const fn ch(c: char) -> KeySpec {
    KeySpec {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}

const fn key(code: KeyCode) -> KeySpec {
    KeySpec { code, ctrl: false }
}

const fn ctrl(c: char) -> KeySpec {
    KeySpec {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

impl KeySpec {
    /// True when the event is this key. Alt is ignored: a terminal reports Esc followed
    /// quickly by a key as Alt+key, and no binding uses Alt.
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        ctrl == self.ctrl && self.code == ev.code
    }

    /// How the key is written in help and docs.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "Shift-Tab".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Backspace => "Backspace".into(),
            other => format!("{other:?}"),
        };
        if self.ctrl {
            format!("Ctrl-{base}")
        } else {
            base
        }
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere (unless an overlay is open).
    Global,
    /// On one screen.
    Screen(Screen),
    /// While the user search is open (other printable keys are typed into it).
    Search,
    /// While the help overlay is open.
    Help,
    /// While the quit question is open.
    Confirm,
}

impl Scope {
    /// Section title in help and docs.
    pub fn title(self) -> String {
        match self {
            Scope::Global => "Everywhere".into(),
            Scope::Screen(s) => format!("{} screen", s.title(false)),
            Scope::Search => "User search (after /)".into(),
            Scope::Help => "Help overlay".into(),
            Scope::Confirm => "Quit question".into(),
        }
    }
}

/// One row of the keymap.
#[derive(Debug, Clone)]
pub struct Binding {
    /// Where it applies.
    pub scope: Scope,
    /// Keys that trigger it.
    pub keys: &'static [KeySpec],
    /// What it does.
    pub action: Action,
    /// Description for help and docs.
    pub help: &'static str,
    /// Short footer hint, when the binding is worth advertising there.
    pub hint: Option<&'static str>,
}

const fn b(
    scope: Scope,
    keys: &'static [KeySpec],
    action: Action,
    help: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding {
        scope,
        keys,
        action,
        help,
        hint,
    }
}

use KeyCode::{BackTab, Backspace, Down, Enter, Esc, Left, Right, Tab, Up};
use Scope::{Confirm, Global, Help, Search};

const UP: &[KeySpec] = &[key(Up), ch('k')];
const DOWN: &[KeySpec] = &[key(Down), ch('j')];
const LEFT: &[KeySpec] = &[key(Left), ch('h')];
const RIGHT: &[KeySpec] = &[key(Right), ch('l')];
const USER: Scope = Scope::Screen(Screen::User);
const WHY: Scope = Scope::Screen(Screen::Why);
const ALIGN: Scope = Scope::Screen(Screen::Alignment);
const TRAIN: Scope = Scope::Screen(Screen::Training);
const BIAS: Scope = Scope::Screen(Screen::Bias);

/// The keymap. Order matters only within a scope (first match wins); screen scopes are looked
/// up before the global one.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    b(Global, &[ch('1')], Action::Goto(Screen::Graph), "causal graph screen", None),
    b(Global, &[ch('2')], Action::Goto(Screen::User), "user screen", None),
    b(Global, &[ch('3')], Action::Goto(Screen::Why), "why-this-item screen", None),
    b(Global, &[ch('4')], Action::Goto(Screen::Alignment), "alignment screen", None),
    b(Global, &[ch('5')], Action::Goto(Screen::Training), "training screen", None),
    b(Global, &[ch('6')], Action::Goto(Screen::Bias), "bias screen (all users; computed once per checkpoint)", None),
    b(Global, &[key(Tab)], Action::NextScreen, "next screen", None),
    b(Global, &[key(BackTab)], Action::PrevScreen, "previous screen", None),
    b(Global, &[ch('n')], Action::NextUser, "next user", Some("next user")),
    b(Global, &[ch('p')], Action::PrevUser, "previous user", None),
    b(Global, &[ch('/')], Action::OpenSearch, "find a user by id (fuzzy)", Some("find user")),
    b(Global, &[ch('w')], Action::SwapModel, "switch to the other checkpoint (after a retrain)", None),
    b(Global, &[ch('T')], Action::ToggleTimings, "show or hide timings in the status bar", None),
    b(Global, &[ch('?')], Action::ToggleHelp, "show or hide this help", Some("help")),
    b(Global, &[ch('q'), ctrl('c')], Action::Quit, "quit (asks while a training run is in progress)", Some("quit")),
    b(USER, UP, Action::Up, "previous item of the list", None),
    b(USER, DOWN, Action::Down, "next item of the list", Some("item")),
    b(USER, LEFT, Action::Left, "focus the do (debiased) list", None),
    b(USER, RIGHT, Action::Right, "focus the raw (observational) list", Some("list")),
    b(USER, &[key(Enter)], Action::Enter, "why this item (opens screen 3)", Some("why")),
    b(USER, &[ch('+'), ch('=')], Action::MoreK, "longer top-K lists", Some("K")),
    b(USER, &[ch('-')], Action::LessK, "shorter top-K lists", None),
    b(USER, &[ch('[')], Action::PrevHistory, "previous history item (what-if)", None),
    b(USER, &[ch(']')], Action::NextHistory, "next history item (what-if)", None),
    b(USER, &[ch('x')], Action::ToggleHistory, "take the history item out, or put it back: re-rank (what-if)", Some("drop")),
    b(USER, &[ch('r')], Action::RestoreHistory, "restore the whole history", None),
    b(WHY, UP, Action::Up, "explain the previous item of the list", None),
    b(WHY, DOWN, Action::Down, "explain the next item of the list", Some("item")),
    b(WHY, LEFT, Action::Left, "take items from the do list", None),
    b(WHY, RIGHT, Action::Right, "take items from the raw list", Some("list")),
    b(WHY, &[key(Esc), key(Backspace)], Action::Back, "back to the user screen", Some("back")),
    b(WHY, &[ch('[')], Action::PrevHistory, "previous history item (what-if)", None),
    b(WHY, &[ch(']')], Action::NextHistory, "next history item (what-if)", None),
    b(WHY, &[ch('x')], Action::ToggleHistory, "take the history item out, or put it back: re-score (what-if)", Some("drop")),
    b(WHY, &[ch('r')], Action::RestoreHistory, "restore the whole history", None),
    b(ALIGN, UP, Action::Up, "select the previous row (its histogram is drawn)", None),
    b(ALIGN, DOWN, Action::Down, "select the next row", Some("row")),
    b(TRAIN, UP, Action::Up, "select the previous setting", None),
    b(TRAIN, DOWN, Action::Down, "select the next setting", Some("setting")),
    b(TRAIN, LEFT, Action::Left, "decrease / previous value", None),
    b(TRAIN, RIGHT, Action::Right, "increase / next value", Some("change")),
    b(TRAIN, &[ch(' ')], Action::Toggle, "flip an on/off setting", None),
    b(TRAIN, &[ch('s'), key(Enter)], Action::StartTraining, "start training with these settings", Some("start")),
    b(TRAIN, &[ch('x')], Action::CancelTraining, "cancel the run at the next batch", Some("cancel")),
    b(TRAIN, &[ch('e')], Action::Evaluate, "evaluate both checkpoints (full ranking, on a worker)", Some("evaluate")),
    b(BIAS, UP, Action::Up, "select the previous item of the table", None),
    b(BIAS, DOWN, Action::Down, "select the next item of the table", Some("item")),
    b(BIAS, LEFT, Action::Left, "focus the most-pushed table", None),
    b(BIAS, RIGHT, Action::Right, "focus the exposure table", Some("table")),
    b(Search, &[key(Esc)], Action::Back, "close the search", None),
    b(Search, &[key(Enter)], Action::SearchSubmit, "jump to the highlighted user", None),
    b(Search, &[key(Up)], Action::Up, "highlight the previous match", None),
    b(Search, &[key(Down)], Action::Down, "highlight the next match", None),
    b(Search, &[key(Backspace)], Action::SearchBackspace, "delete the last character", None),
    b(Search, &[ctrl('c')], Action::Quit, "quit", None),
    b(Help, UP, Action::Up, "scroll up", None),
    b(Help, DOWN, Action::Down, "scroll down", None),
    b(Help, &[ch('?'), key(Esc)], Action::ToggleHelp, "close the help", None),
    b(Help, &[ch('q'), ctrl('c')], Action::Quit, "quit", None),
    b(Confirm, &[ch('y'), key(Enter), ctrl('c')], Action::Confirm, "quit and cancel the training run", None),
    b(Confirm, &[ch('n'), key(Esc)], Action::Back, "keep running", None),
];

/// The scopes active in the app's current state, most specific first.
pub fn active_scopes(app: &App) -> Vec<Scope> {
    if app.confirm_quit {
        vec![Confirm]
    } else if app.help.is_some() {
        vec![Help]
    } else if app.user.search.is_some() {
        vec![Search]
    } else {
        vec![Scope::Screen(app.screen), Global]
    }
}

/// The action a key press triggers in the app's current state, if any.
pub fn action_for(app: &App, ev: &KeyEvent) -> Option<Action> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    let scopes = active_scopes(app);
    for scope in &scopes {
        for binding in BINDINGS.iter().filter(|b| b.scope == *scope) {
            if binding.keys.iter().any(|k| k.matches(ev)) {
                return Some(binding.action.clone());
            }
        }
    }
    if scopes == [Search] {
        if let KeyCode::Char(c) = ev.code {
            if !ev.modifiers.contains(KeyModifiers::CONTROL) {
                return Some(Action::SearchInput(c));
            }
        }
    }
    None
}

/// `(keys, description)` rows of one scope.
pub fn rows(scope: Scope) -> Vec<(String, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| b.scope == scope)
        .map(|b| {
            let keys: Vec<String> = b.keys.iter().map(KeySpec::label).collect();
            (keys.join(" "), b.help)
        })
        .collect()
}

/// The help overlay's sections for a screen: that screen's keys, the global keys, the search.
pub fn help_sections(screen: Screen) -> Vec<(String, Vec<(String, &'static str)>)> {
    let mut out = Vec::new();
    let s = Scope::Screen(screen);
    let own = rows(s);
    if !own.is_empty() {
        out.push((s.title(), own));
    }
    out.push((Global.title(), rows(Global)));
    let mut search = rows(Search);
    search.insert(0, ("letters".into(), "type to filter user ids"));
    out.push((Search.title(), search));
    out.push((
        "Mouse".into(),
        vec![
            ("click".into(), "a tab switches screen"),
            ("wheel".into(), "moves the selection"),
        ],
    ));
    out
}

/// Footer hints `(keys, hint)` of a screen: its advertised bindings, then the global ones.
pub fn hints(screen: Screen) -> Vec<(String, &'static str)> {
    [Scope::Screen(screen), Global]
        .iter()
        .flat_map(|&scope| BINDINGS.iter().filter(move |b| b.scope == scope))
        .filter_map(|b| {
            let keys: Vec<String> = b.keys.iter().take(1).map(KeySpec::label).collect();
            b.hint.map(|h| (keys.join(""), h))
        })
        .collect()
}

/// The whole keymap as a Markdown table (used in `docs/EXPLORER.md`).
pub fn markdown() -> String {
    let mut scopes: Vec<Scope> = vec![Global];
    scopes.extend(Screen::ALL.iter().map(|&s| Scope::Screen(s)));
    scopes.extend([Search, Help, Confirm]);
    let mut s = String::from("| where | keys | action |\n|---|---|---|\n");
    for scope in scopes {
        for (keys, help) in rows(scope) {
            let keys = keys
                .split(' ')
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(" ");
            s.push_str(&format!("| {} | {keys} | {help} |\n", scope.title()));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_in_a_scope() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                if a.scope == b.scope {
                    for k in a.keys {
                        assert!(!b.keys.contains(k), "{:?} bound twice in {:?}", k, a.scope);
                    }
                }
            }
        }
    }

    #[test]
    fn screen_keys_shadow_global_ones_only_on_purpose() {
        // Screen scopes are looked up first; none may hide a screen-switching key.
        for b in BINDINGS
            .iter()
            .filter(|b| matches!(b.scope, Scope::Screen(_)))
        {
            for k in b.keys {
                assert!(!matches!(
                    k.code,
                    KeyCode::Char('1'..='6') | KeyCode::Tab | KeyCode::BackTab
                ));
                assert!(*k != ch('q') && *k != ch('?'));
            }
        }
    }

    #[test]
    fn labels_and_markdown() {
        assert_eq!(ctrl('c').label(), "Ctrl-c");
        assert_eq!(key(KeyCode::BackTab).label(), "Shift-Tab");
        let md = markdown();
        assert!(md.contains("| Everywhere | `?` | show or hide this help |"));
        assert_eq!(md.lines().count(), BINDINGS.len() + 2);
        let alt_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::ALT);
        assert!(ch('q').matches(&alt_q));
        assert!(!ctrl('c').matches(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE)));
    }
}
