"""Reusable DIVA constructs; the stacks in infra/*_stack.py compose them."""
