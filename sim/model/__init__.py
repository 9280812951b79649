"""The simulation: parameters, scenarios, rules, the random tape, the phases and both engines."""
