"""Tooling that tests the product from outside: the crash test and its audit."""
