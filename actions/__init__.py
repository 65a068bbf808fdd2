"""The assistant's custom actions (rasa-sdk action server package).

Layers point one way: `api` (the one commerce API client) and `config`; `shop` (what differs
between shops: profile, order numbers, formatting, policy, content) and `identity` (who the
customer is); the gate (`gate`, `gate_actions` in `dialogue`) and the action `ledger`, which know
no capability; `dialogue` (reading a turn, tasks, the one task form, switching); and
`capabilities` (returns, cancellation, address, tracking, refunds, handoff, answers), each
registering itself with the gate and the task registry. `server` starts it all.
"""
