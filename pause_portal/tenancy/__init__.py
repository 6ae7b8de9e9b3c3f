"""The tenancy kernel: who is who, and who may do what.

Organisations, programmes, people, memberships (person x programme x role), sign-in links and
signed-in sessions (`models`, app label "sharing"); the role and permission vocabulary (`roles`);
the membership helpers (`selectors`); and the one normalised identity (`identity`). Every layer
above may import it; it imports nothing of the portal's but the kernel.
"""
