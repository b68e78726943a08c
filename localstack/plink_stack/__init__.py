"""plink local cloud stack: AWS (moto, extended) and Databricks account API emulators."""
