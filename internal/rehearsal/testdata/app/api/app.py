print("rehearsal stand-in api")
