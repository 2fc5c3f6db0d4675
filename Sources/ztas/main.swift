print("ztas")
