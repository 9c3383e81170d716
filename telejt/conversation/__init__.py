"""The SMS conversation: reading replies, the prompts they answer, asking back, crisis safety."""
