"""Quiet periods (暂停敏感账号运营): own accounts stay quiet while a crisis is on."""
