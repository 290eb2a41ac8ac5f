# Sourced by bench scripts: `cli_copy DIR` prints DIR/cli/Distil.Cli, a copy of the Release build of src/Distil.Cli made
# once (built first when needed), so that rebuilding the repository cannot disturb a bench that is running. DIR/cli/commit
# records the commit it was built from.
cli_copy() {
    local dir=$1
    if [ ! -x "$dir/cli/Distil.Cli" ]; then
        dotnet build src/Distil.Cli -c Release -v q -nologo >&2
        mkdir -p "$dir"
        rm -rf "$dir/cli.tmp" && cp -r src/Distil.Cli/bin/Release/net10.0/linux-x64 "$dir/cli.tmp" && mv "$dir/cli.tmp" "$dir/cli"
        git rev-parse --short HEAD > "$dir/cli/commit"
    fi
    echo "$dir/cli/Distil.Cli"
}
