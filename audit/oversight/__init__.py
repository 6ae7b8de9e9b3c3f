"""The DPO's oversight: the logic, views, forms and urls of rights requests, objections, erasure,
access packs, breaches, the access review and monitoring. It is the top layer below the root
wiring: it may read sharing and eligibility, and nothing imports it but the wiring.
"""
