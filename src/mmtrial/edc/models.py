"""Records of the study database. Models hold fields and constraints; services write them."""
