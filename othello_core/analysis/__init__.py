"""Reading and editing the model: the locked ``ModelService`` the app and notebooks use, probes and
the probe suite, interventions, attribution, attention. Imports the rules and model layers only."""
