"""Feasibility: requirements against manufacturing constraints, production approaches and their costs, risks."""
