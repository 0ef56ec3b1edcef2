"""Small realistic practices for the scenario suite (tests/test_scenarios.py)."""
