std = "min"
read_globals = { "jit" }
max_line_length = 120
files["spec/**/*.lua"] = { std = "+busted" }
files["examples/**/*.lua"] = { read_globals = { "arg" } }
exclude_files = { "build" }
