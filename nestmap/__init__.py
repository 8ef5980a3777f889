"""nestmap: a service-mapping and gap-analysis knowledge graph."""

__version__ = "0.1.0"
