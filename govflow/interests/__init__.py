"""Declarations of interests and the independence rule that reads them: shared by committee review and sandbox evaluation."""
