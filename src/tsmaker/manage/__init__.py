"""Managing what the registry holds, for the front ends.

Catalogs (list, show, add, remove, flux types) and products (list, show, remove, plot,
read).
"""
