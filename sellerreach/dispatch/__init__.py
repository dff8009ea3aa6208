"""Sending buyer replies and review invitations: the SES v2 sender (`ses.py`)."""
