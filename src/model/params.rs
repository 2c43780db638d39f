//! The parameter store, and the prefixed builder that model blocks create their weights with.
//!
//! candle's CPU random generator cannot be seeded, so every initial value is drawn here from a
//! seeded [`StdRng`] and turned into a [`Var`]. A block receives a [`ParamBuilder`] scoped to its
//! prefix (`vb.pp("moe").pp("expert").pp(0)`, as candle-transformers' `VarBuilder`) and keeps
//! the tensors it returns; the dotted names (`moe.expert.0.w1`, …) are the checkpoint keys, each
//! written once. A kept tensor shares its storage with the store's [`Var`], so an optimiser step
//! or a checkpoint load through [`Params`] is what every block reads next.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Display;

use candle_core::{DType, Device, Tensor, Var};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

use crate::error::{Error, Result};

/// A named set of trainable tensors.
#[derive(Debug)]
pub struct Params {
    vars: BTreeMap<String, Var>,
    device: Device,
}

impl Params {
    /// An empty store on `device`.
    pub fn new(device: &Device) -> Self {
        Params {
            vars: BTreeMap::new(),
            device: device.clone(),
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    fn insert(&mut self, name: String, data: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        if self.vars.contains_key(&name) {
            return Err(Error::Other(format!("parameter `{name}` is created twice")));
        }
        let var = Var::from_vec(data, shape, &self.device)?;
        let t = var.as_tensor().clone();
        self.vars.insert(name, var);
        Ok(t)
    }

    /// The current value of a parameter.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.vars.get(name).map(|v| v.as_tensor())
    }

    /// All parameters by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Var)> {
        self.vars.iter()
    }

    /// Total number of scalar parameters.
    pub fn count(&self) -> usize {
        self.vars.values().map(|v| v.elem_count()).sum()
    }

    /// Overwrites every parameter from `tensors`; names and shapes must match exactly.
    pub fn load(&mut self, tensors: &BTreeMap<String, Tensor>) -> std::result::Result<(), String> {
        for (name, var) in &self.vars {
            let t = tensors
                .get(name)
                .ok_or_else(|| format!("the checkpoint has no tensor `{name}`"))?;
            if t.dims() != var.dims() {
                return Err(format!(
                    "tensor `{name}` has shape {:?} in the checkpoint but {:?} in the model",
                    t.dims(),
                    var.dims()
                ));
            }
            let t = t
                .to_dtype(DType::F32)
                .and_then(|t| t.to_device(&self.device))
                .map_err(|e| e.to_string())?;
            var.set(&t).map_err(|e| e.to_string())?;
        }
        if let Some(extra) = tensors.keys().find(|k| !self.vars.contains_key(*k)) {
            return Err(format!("the checkpoint has an unexpected tensor `{extra}`"));
        }
        Ok(())
    }

    /// Snapshot of every parameter (detached copies).
    pub fn snapshot(&self) -> Result<BTreeMap<String, Tensor>> {
        let mut out = BTreeMap::new();
        for (k, v) in &self.vars {
            out.insert(k.clone(), v.as_tensor().detach().copy()?);
        }
        Ok(out)
    }
}

/// A store being filled, with the seeded generator its initial values are drawn from.
#[derive(Debug)]
pub struct ParamInit {
    params: RefCell<Params>,
    rng: RefCell<StdRng>,
}

impl ParamInit {
    /// An empty store on `device` whose draws follow `seed`.
    pub fn new(device: &Device, seed: u64) -> Self {
        ParamInit {
            params: RefCell::new(Params::new(device)),
            rng: RefCell::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// The builder at the root (no prefix).
    pub fn root(&self) -> ParamBuilder<'_> {
        ParamBuilder {
            init: self,
            prefix: String::new(),
        }
    }

    pub fn into_params(self) -> Params {
        self.params.into_inner()
    }
}

/// Creates parameters under a dotted prefix; [`ParamBuilder::pp`] goes one level down.
/// Parameters are drawn in the order they are created, so a block's creation order is part of
/// a seeded run's result.
#[derive(Debug, Clone)]
pub struct ParamBuilder<'a> {
    init: &'a ParamInit,
    prefix: String,
}

impl ParamBuilder<'_> {
    /// The builder of `prefix.name`.
    pub fn pp(&self, name: impl Display) -> Self {
        ParamBuilder {
            init: self.init,
            prefix: self.key(name),
        }
    }

    fn key(&self, name: impl Display) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    pub fn device(&self) -> Device {
        self.init.params.borrow().device.clone()
    }

    fn insert(&self, name: impl Display, data: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        self.init
            .params
            .borrow_mut()
            .insert(self.key(name), data, shape)
    }

    /// A parameter drawn from `N(0, std²)`.
    pub fn normal(&self, name: impl Display, shape: &[usize], std: f64) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let dist = Normal::new(0.0, std.max(1e-12)).map_err(|e| Error::Other(e.to_string()))?;
        let data = {
            let mut rng = self.init.rng.borrow_mut();
            (0..n).map(|_| dist.sample(&mut *rng) as f32).collect()
        };
        self.insert(name, data, shape)
    }

    /// A parameter filled with `value`.
    pub fn constant(&self, name: impl Display, shape: &[usize], value: f32) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        self.insert(name, vec![value; n], shape)
    }

    /// A `d × d` parameter initialised to the identity.
    pub fn identity(&self, name: impl Display, d: usize) -> Result<Tensor> {
        let mut data = vec![0f32; d * d];
        for k in 0..d {
            data[k * d + k] = 1.0;
        }
        self.insert(name, data, &[d, d])
    }

    /// A Xavier-uniform-like `fan_in × fan_out` weight (drawn from a normal with the same variance).
    pub fn xavier(&self, name: impl Display, fan_in: usize, fan_out: usize) -> Result<Tensor> {
        let std = (2.0 / (fan_in + fan_out) as f64).sqrt();
        self.normal(name, &[fan_in, fan_out], std)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_init_is_reproducible() {
        let draw = || {
            let init = ParamInit::new(&Device::Cpu, 9);
            init.root()
                .normal("e", &[3, 2], 0.1)
                .unwrap()
                .to_vec2::<f32>()
                .unwrap()
        };
        assert_eq!(draw(), draw());
    }

    #[test]
    fn prefixes_make_the_dotted_key_and_a_key_is_created_once() {
        let init = ParamInit::new(&Device::Cpu, 1);
        let vb = init.root().pp("moe").pp("expert").pp(2);
        let w = vb.constant("b1", &[3], 0.5).unwrap();
        let err = vb.constant("b1", &[3], 0.0).unwrap_err().to_string();
        assert!(err.contains("moe.expert.2.b1"), "{err}");
        let mut params = init.into_params();
        assert!(params.get("moe.expert.2.b1").is_some());
        // The block's tensor is the store's variable: a load is what the block reads.
        let new = Tensor::new(&[1f32, 2.0, 3.0], &Device::Cpu).unwrap();
        params
            .load(&BTreeMap::from([("moe.expert.2.b1".to_string(), new)]))
            .unwrap();
        assert_eq!(w.to_vec1::<f32>().unwrap(), vec![1.0, 2.0, 3.0]);
    }
}
