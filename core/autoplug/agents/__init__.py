"""The two agents: the dynamic agent (reasons) and the static agent (plans and executes)."""
