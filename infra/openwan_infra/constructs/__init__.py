"""One construct per concern; the stack in ``openwan_infra.stack`` wires them together."""
