namespace Distil.Onnx;

/// <summary>
/// The arithmetic of dynamic int8 quantization, in plain C# so that tests can check it by hand and the quantizer and
/// the reference agree on one definition. Weights: symmetric int8 per output channel (zero point 0, scale =
/// max|w| / 127). Activations: ONNX DynamicQuantizeLinear (uint8, asymmetric, range always includes 0).
/// Rounding is half to even everywhere, as ONNX specifies.
/// </summary>
public static class Int8Math
{
    /// <summary>
    /// Per-column scales and int8 values of a (rows, cols) row-major weight, as MatMul's B (in, out): column n is output
    /// channel n. <paramref name="maxQ"/> 127, or 63 for "reduce range" (7-bit weights: no int16 saturation in the
    /// u8 x s8 kernels of CPUs without VNNI).
    /// </summary>
    public static (sbyte[] Q, float[] Scales) QuantizePerColumn(ReadOnlySpan<float> w, int rows, int cols, int maxQ = 127)
    {
        if (w.Length != rows * cols) throw new ArgumentException($"{w.Length} values for a {rows}x{cols} weight");
        var scales = new float[cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) scales[c] = Math.Max(scales[c], Math.Abs(w[r * cols + c]));
        for (int c = 0; c < cols; c++) scales[c] = scales[c] > 0 ? scales[c] / maxQ : 1f; // an all-zero column stays 0 with any scale
        var q = new sbyte[w.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) q[r * cols + c] = (sbyte)Math.Clamp(Math.Round(w[r * cols + c] / scales[c], MidpointRounding.ToEven), -maxQ, maxQ);
        return (q, scales);
    }

    /// <summary>Per-row scales and int8 values of a (rows, cols) table (an embedding: each gathered row has its own scale).</summary>
    public static (sbyte[] Q, float[] Scales) QuantizePerRow(ReadOnlySpan<float> w, int rows, int cols, int maxQ = 127)
    {
        if (w.Length != rows * cols) throw new ArgumentException($"{w.Length} values for a {rows}x{cols} table");
        var scales = new float[rows];
        var q = new sbyte[w.Length];
        for (int r = 0; r < rows; r++)
        {
            float max = 0;
            for (int c = 0; c < cols; c++) max = Math.Max(max, Math.Abs(w[r * cols + c]));
            float s = scales[r] = max > 0 ? max / maxQ : 1f;
            for (int c = 0; c < cols; c++) q[r * cols + c] = (sbyte)Math.Clamp(Math.Round(w[r * cols + c] / s, MidpointRounding.ToEven), -maxQ, maxQ);
        }
        return (q, scales);
    }

    /// <summary>ONNX DynamicQuantizeLinear: uint8 values, scale and zero point of <paramref name="x"/> (the spec's formulas).</summary>
    public static (byte[] Q, float Scale, byte ZeroPoint) DynamicQuantizeLinear(ReadOnlySpan<float> x)
    {
        float min = 0, max = 0;
        foreach (float v in x) { min = Math.Min(min, v); max = Math.Max(max, v); }
        float scale = (max - min) / 255f;
        if (scale == 0) scale = 1f; // all zeros: any scale gives q = zero point = 0 (ORT does the same)
        byte zp = (byte)Math.Clamp(Math.Round(0 - min / scale, MidpointRounding.ToEven), 0, 255);
        var q = new byte[x.Length];
        for (int i = 0; i < x.Length; i++) q[i] = (byte)Math.Clamp(Math.Round(x[i] / scale, MidpointRounding.ToEven) + zp, 0, 255);
        return (q, scale, zp);
    }
}
