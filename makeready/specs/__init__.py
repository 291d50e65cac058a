"""Specifications: versioned bilingual spec revisions, their documents, factory links and the glossary."""
