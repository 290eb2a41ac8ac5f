# Sourced by the bench scripts: `machine_header` prints the line every bench result header starts with, the same line
# as Distil.Native.MachineInfo.Header() in C#: CPU model, logical cores, vector extensions from /proc/cpuinfo and the
# int8 path they give (docs/quantization.md §Targets per ISA). Usage: source bench/lib/machine.sh; machine_header
machine_header() {
    local cpuinfo=${1:-/proc/cpuinfo}
    if [ ! -r "$cpuinfo" ]; then echo "CPU: unknown CPU (no /proc/cpuinfo), $(nproc 2>/dev/null || echo '?') logical cores"; return; fi
    awk '
        BEGIN { FS = ":"; n = split("avx2 AVX2|fma FMA|avx_vnni AVX-VNNI|avx512f AVX-512F|avx512bw AVX-512BW|avx512_vnni AVX-512 VNNI|avx512_bf16 AVX-512 BF16|amx_tile AMX|amx_int8 AMX-INT8|amx_bf16 AMX-BF16", ext, "|") }
        { key = $1; gsub(/^[ \t]+|[ \t]+$/, "", key); value = substr($0, index($0, ":") + 1); gsub(/^[ \t]+|[ \t]+$/, "", value) }
        key == "processor" { cores++ }
        key == "model name" && model == "" { model = value }
        key == "flags" && !seen { seen = 1; m = split(value, f, " "); for (i = 1; i <= m; i++) has[f[i]] = 1 }
        END {
            if (model == "") model = "unknown CPU"
            list = ""
            for (i = 1; i <= n; i++) { split(ext[i], p, " "); name = substr(ext[i], length(p[1]) + 2); if (p[1] in has) list = list (list == "" ? "" : ", ") name }
            if (list == "") list = "none of AVX2/AVX-512/VNNI/AMX"
            isa = ("amx_int8" in has) ? "AMX" : ("avx512_vnni" in has) ? "AVX-512 VNNI" : ("avx_vnni" in has) ? "AVX-VNNI" : ("avx512bw" in has) ? "AVX-512" : ("avx2" in has) ? "AVX2" : "none"
            printf "CPU: %s, %d logical cores; vector extensions: %s (int8 path: %s)\n", model, cores, list, isa
        }' "$cpuinfo"
}
