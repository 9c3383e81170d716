"""Courts: the judicial units that supervise participants."""
