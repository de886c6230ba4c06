"""Customers: companies (wrapping legacy CompanyMirrors), their contacts and addresses."""
