"""The connector framework: roles, records, the registry and fakes for connector authors."""
