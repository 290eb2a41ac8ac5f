#!/usr/bin/env python3
# The GEMM / non-GEMM split of ort-profile JSON files (bench/Distil.Bench ort-profile --out ...): linear-layer GEMMs
# (fp32 MatMul minus the attention MatMul that int8 leaves in float, + Gemm; int8 DynamicQuantizeMatMul +
# MatMulIntegerToFloat + DynamicQuantizeLinear + Split) vs the rest. Usage: python3 bench/int8_profile_summary.py FILE.json...
import json,sys
for f in sys.argv[1:]:
    j=json.load(open(f)); print('##',f.split('/')[-1], j['load_average_before'][:14])
    for sh in j['shapes']:
        ms={m['name']:m for m in sh['models']}
        fp=ms['fp32']; 
        for name,m in ms.items():
            if name=='fp32' or 'fused' in name: continue
            o=m['ops']; av=o.get('MatMul',0)
            g8=sum(o.get(k,0) for k in ['DynamicQuantizeMatMul','MatMulIntegerToFloat','DynamicQuantizeLinear','Split'])
            gf=fp['ops'].get('MatMul',0)-av+fp['ops'].get('Gemm',0)
            nf=fp['kernel_ms_per_run']-gf; n8=m['kernel_ms_per_run']-g8
            print(f"b{sh['batch']} s{sh['seq']} {name}: linear GEMMs fp32 {gf:.2f} int8 {g8:.2f} -> {gf/g8:.2f}x; rest fp32 {nf:.2f} int8 {n8:.2f} ({100*n8/m['kernel_ms_per_run']:.0f}% of int8); total {fp['kernel_ms_per_run']/m['kernel_ms_per_run']:.2f}x (wall {fp['run_ms_median']/m['run_ms_median']:.2f}x); needed GEMM speed-up for 1.8x/2x with this rest: {gf/(fp['kernel_ms_per_run']/1.8-n8) if fp['kernel_ms_per_run']/1.8>n8 else float('inf'):.2f}x / {gf/(fp['kernel_ms_per_run']/2-n8) if fp['kernel_ms_per_run']/2>n8 else float('inf'):.2f}x")
