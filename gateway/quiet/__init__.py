"""The organization's own accounts and the quiet periods that pause them (暂停敏感账号运营)."""
