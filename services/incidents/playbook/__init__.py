"""Response playbooks: the team and the tasks an incident gets for its tier and crisis type."""
