"""Shared building blocks of the course: sourced figures, the claims ledger, plotting style.

Nothing here is an exercise. Chapters and later topics import these instead of re-typing
numbers or re-implementing earlier answers.
"""
