print("rehearsal stand-in mcp")
