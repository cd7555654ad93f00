"""Drills (定期模拟演练): start one, end it with its score card, compare them."""
