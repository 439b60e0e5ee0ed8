//! `GET /api/v1/enforce/policies`: the enforcement policies the kernel runs
//! now (the policy file's, then the rules' actions'). They change on a
//! rules reload, which reads the policy file again.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use sonde_agent::enforce::Policy;
use sonde_agent::AgentHandle;

#[derive(Debug, Serialize)]
pub struct PoliciesAnswer {
    /// False when the enforcement programs did not load in this agent.
    pub available: bool,
    pub policies: Vec<Policy>,
}

pub async fn policies(State(agent): State<AgentHandle>) -> Json<PoliciesAnswer> {
    let enforcer = agent.enforcer();
    Json(PoliciesAnswer {
        available: enforcer.is_some(),
        policies: enforcer.map(|e| e.policies()).unwrap_or_default(),
    })
}
