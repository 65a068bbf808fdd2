"""The assistant's custom actions (rasa-sdk action server package).

One module per capability: identity, tracking, returns, cancellation, address,
refunds, handoff; the confirmation gate (`gate`, `gate_actions`) and the action
ledger (`ledger`) every destructive action passes through; one commerce API
client (`api.commerce`); configuration read once (`config`).
"""
