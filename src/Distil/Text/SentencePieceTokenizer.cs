using System.Text;

namespace Distil.Text;

/// <summary>
/// SentencePiece Unigram (Viterbi over piece scores) and BPE (merge the adjacent pair whose union scores highest),
/// after SentencePiece's own normaliser, read from a .model file. Ids follow the model, or fairseq's layout for
/// XLM-R / CamemBERT's sentencepiece.bpe.model: &lt;s&gt;=0 &lt;pad&gt;=1 &lt;/s&gt;=2 &lt;unk&gt;=3, model ids + 1, &lt;mask&gt; last.
/// </summary>
public sealed class SentencePieceTokenizer : TextTokenizer
{
    public enum IdLayout { Model, Fairseq }
    const float UnkPenalty = 10f;

    readonly SentencePieceModel _model;
    readonly SentencePieceNormalizer _normalizer;
    readonly Dictionary<string, int> _pieceIds = new(); // normal and user-defined pieces -> model id
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    readonly int _maxPieceLength;
    readonly float _minScore, _maxScore;
    readonly IdLayout _layout;
    readonly List<AddedToken> _added = new();
    readonly HashSet<int> _specialIds = new();
    readonly int _modelUnk;

    public override int VocabSize { get; }
    public override int Cls { get; }
    public override int Sep { get; }
    public override int Pad { get; }
    public override int Unk { get; }
    public override int Mask { get; }
    public override string ModelType => _model.ModelType == 2 ? "BPE" : "Unigram";
    public override string Source { get; }

    public SentencePieceTokenizer(SentencePieceModel model, IdLayout layout, TokenizerConfig config, string source)
    {
        if (model.ModelType is not (1 or 2))
            throw DistilException.BadInput($"{source}: SentencePiece model_type {model.ModelType} is not supported; supported: 1 (unigram), 2 (bpe)");
        Source = source;
        _model = model;
        _layout = layout;
        _normalizer = new SentencePieceNormalizer(model);
        _minScore = float.MaxValue; _maxScore = float.MinValue;
        for (int i = 0; i < model.Pieces.Count; i++)
        {
            var p = model.Pieces[i];
            if (p.Type == SentencePieceModel.PieceType.Unknown) _modelUnk = i;
            if (p.Type is not (SentencePieceModel.PieceType.Normal or SentencePieceModel.PieceType.UserDefined)) continue;
            _pieceIds.TryAdd(p.Text, i);
            _maxPieceLength = Math.Max(_maxPieceLength, p.Text.Length);
            if (p.Type == SentencePieceModel.PieceType.Normal) { _minScore = Math.Min(_minScore, p.Score); _maxScore = Math.Max(_maxScore, p.Score); }
        }
        _lookup = _pieceIds.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var (i, p) in model.Pieces.Index())
            if (p.Type == SentencePieceModel.PieceType.UserDefined) _added.Add(new AddedToken(p.Text, ToId(i), Special: false));

        if (layout == IdLayout.Fairseq)
        {
            Cls = 0; Pad = 1; Sep = 2; Unk = 3;
            VocabSize = model.Pieces.Count + 2;
            Mask = model.Pieces.Count + 1;
            _added.Add(new AddedToken(config.Token("mask_token") ?? "<mask>", Mask, LStrip: true));
            foreach (var (t, id) in new[] { ("<s>", 0), ("<pad>", 1), ("</s>", 2), ("<unk>", 3) }) _added.Add(new AddedToken(t, id));
            Template = PairTemplate.Roberta(Cls, Sep);
        }
        else
        {
            int Find(string? token, int fallback) => token != null && model.Pieces.FindIndex(p => p.Text == token) is int i and >= 0 ? i : fallback;
            Cls = Find(config.Token("cls_token") ?? "[CLS]", model.BosId);
            Sep = Find(config.Token("sep_token") ?? "[SEP]", model.EosId);
            Pad = Find(config.Token("pad_token") ?? "[PAD]", model.PadId >= 0 ? model.PadId : Sep);
            Unk = Find(config.Token("unk_token") ?? "[UNK]", model.UnkId);
            string mask = config.Token("mask_token") ?? "[MASK]";
            Mask = Find(mask, model.Pieces.Count);
            VocabSize = Math.Max(model.Pieces.Count, Mask + 1);
            foreach (var id in new[] { Cls, Sep, Pad, Unk }) _added.Add(new AddedToken(IdToToken(id)!, id));
            _added.Add(new AddedToken(mask, Mask));
            Template = PairTemplate.Bert(Cls, Sep);
        }
        foreach (var a in _added) if (a.Special) _specialIds.Add(a.Id);
        foreach (var (i, p) in model.Pieces.Index()) if (p.Type == SentencePieceModel.PieceType.Control) _specialIds.Add(ToId(i));
    }

    public static SentencePieceTokenizer FromFile(string modelPath, IdLayout layout, string? tokenizerConfig = null) =>
        new(SentencePieceModel.Load(modelPath), layout, TokenizerConfig.Load(tokenizerConfig), modelPath);

    int ToId(int modelId) => _layout == IdLayout.Model ? modelId : modelId == _modelUnk ? 3 : modelId + 1;

    public override List<TextToken> TokenizeWithOffsets(string text)
    {
        var tokens = new List<TextToken>();
        foreach (var (start, end, token) in AddedTokens.Split(text, _added.Where(a => a.Special).ToList()))
        {
            if (token != null) { tokens.Add(new TextToken(token.Id, start, end)); continue; }
            var (norm, s, e) = _normalizer.Normalize(text[start..end]);
            if (norm.Length == 0) continue;
            foreach (var (p, q, modelId) in _model.ModelType == 2 ? Bpe(norm) : Viterbi(norm))
                tokens.Add(new TextToken(modelId < 0 ? Unk : ToId(modelId), start + s[p], start + e[q - 1]));
        }
        return tokens;
    }

    /// <summary>Best segmentation by total piece score; an uncovered character is an unknown piece scored min - 10.</summary>
    List<(int Start, int End, int Id)> Viterbi(string s)
    {
        int n = s.Length;
        var best = new float[n + 1];
        var from = new int[n + 1];
        var id = new int[n + 1];
        Array.Fill(best, float.NegativeInfinity);
        best[0] = 0;
        for (int i = 0; i < n; i++)
        {
            if (float.IsNegativeInfinity(best[i])) continue;
            int charLen = char.IsHighSurrogate(s[i]) && i + 1 < n ? 2 : 1;
            bool single = false;
            for (int len = 1; len <= _maxPieceLength && i + len <= n; len++)
            {
                if (!_lookup.TryGetValue(s.AsSpan(i, len), out var pid)) continue;
                var piece = _model.Pieces[pid];
                float score = piece.Type == SentencePieceModel.PieceType.UserDefined ? len * _maxScore - 0.1f : piece.Score;
                if (len == charLen) single = true;
                if (best[i] + score > best[i + len]) { best[i + len] = best[i] + score; from[i + len] = i; id[i + len] = pid; }
            }
            if (!single && best[i] + _minScore - UnkPenalty > best[i + charLen])
            {
                best[i + charLen] = best[i] + _minScore - UnkPenalty; from[i + charLen] = i; id[i + charLen] = -1;
            }
        }
        var path = new List<(int, int, int)>();
        for (int k = n; k > 0; k = from[k]) path.Add((from[k], k, id[k]));
        path.Reverse();
        return MergeUnknownRuns(path);
    }

    /// <summary>SentencePiece (unigram and bpe) makes a run of unknown characters one unknown piece.</summary>
    static List<(int Start, int End, int Id)> MergeUnknownRuns(IEnumerable<(int Start, int End, int Id)> path)
    {
        var merged = new List<(int Start, int End, int Id)>();
        foreach (var t in path)
        {
            if (t.Id < 0 && merged.Count > 0 && merged[^1].Id < 0) merged[^1] = (merged[^1].Start, t.End, -1);
            else merged.Add(t);
        }
        return merged;
    }

    /// <summary>SentencePiece BPE: characters, then repeatedly the adjacent pair whose union is the best-scored piece.</summary>
    List<(int Start, int End, int Id)> Bpe(string s)
    {
        var spans = new List<(int Start, int End)>();
        for (int i = 0; i < s.Length;)
        {
            int len = char.IsHighSurrogate(s[i]) && i + 1 < s.Length ? 2 : 1;
            spans.Add((i, i + len));
            i += len;
        }
        while (spans.Count > 1)
        {
            int best = -1; float bestScore = float.NegativeInfinity;
            for (int k = 0; k + 1 < spans.Count; k++)
                if (_lookup.TryGetValue(s.AsSpan(spans[k].Start, spans[k + 1].End - spans[k].Start), out var pid) && _model.Pieces[pid].Score > bestScore)
                { bestScore = _model.Pieces[pid].Score; best = k; }
            if (best < 0) break;
            spans[best] = (spans[best].Start, spans[best + 1].End);
            spans.RemoveAt(best + 1);
        }
        return MergeUnknownRuns(spans.Select(sp => (sp.Start, sp.End, _lookup.TryGetValue(s.AsSpan(sp.Start, sp.End - sp.Start), out var pid) ? pid : -1)));
    }

    public override string? IdToToken(int id)
    {
        if (id < 0 || id >= VocabSize) return null;
        if (id == Mask && _added.FirstOrDefault(a => a.Id == id) is { } m) return m.Content;
        if (_layout == IdLayout.Fairseq)
        {
            if (id < 4) return new[] { "<s>", "<pad>", "</s>", "<unk>" }[id];
            return _model.Pieces[id - 1].Text;
        }
        return _model.Pieces[id].Text;
    }

    /// <summary>
    /// HF's SpmConverter (and XLMRobertaConverter's id layout): Unigram over [piece, score] in our id order,
    /// Precompiled + Strip(right) + Replace(" {2,}", "▁") normalizer, Metaspace, the family's template. SentencePiece BPE: null.
    /// </summary>
    public override System.Text.Json.Nodes.JsonObject? ToTokenizerJson()
    {
        if (_model.ModelType != 1 || _model.ByteFallback) return null;
        var vocab = new System.Text.Json.Nodes.JsonArray();
        for (int id = 0; id < VocabSize; id++)
        {
            int modelId = _layout == IdLayout.Model ? id : id is >= 4 && id < _model.Pieces.Count + 1 ? id - 1 : -1;
            double score = modelId >= 0 && modelId < _model.Pieces.Count ? _model.Pieces[modelId].Score : 0;
            vocab.Add(new System.Text.Json.Nodes.JsonArray(IdToToken(id) ?? "", score));
        }
        // Added tokens (matched in the raw text first): the specials, SentencePiece's control and unknown pieces, user-defined pieces.
        var added = new SortedDictionary<int, System.Text.Json.Nodes.JsonObject>();
        void Add(int id, string token, bool lstrip, bool special) => added.TryAdd(id, TokenizerJsonWriter.Added(id, token, lstrip, special));
        foreach (var a in _added.Where(a => a.Special)) Add(a.Id, a.Content, a.LStrip, true);
        foreach (var (i, p) in _model.Pieces.Index())
            if (p.Type is SentencePieceModel.PieceType.Control or SentencePieceModel.PieceType.Unknown && ToId(i) is int id && IdToToken(id) == p.Text) Add(id, p.Text, false, true);
        foreach (var a in _added.Where(a => !a.Special)) Add(a.Id, a.Content, a.LStrip, false);
        var sorted = new System.Text.Json.Nodes.JsonArray(added.Values.ToArray<System.Text.Json.Nodes.JsonNode?>());

        var normalizers = new System.Text.Json.Nodes.JsonArray();
        if (_model.PrecompiledCharsMap.Length > 0)
            normalizers.Add(new System.Text.Json.Nodes.JsonObject { ["type"] = "Precompiled", ["precompiled_charsmap"] = Convert.ToBase64String(_model.PrecompiledCharsMap) });
        normalizers.Add(new System.Text.Json.Nodes.JsonObject { ["type"] = "Strip", ["strip_left"] = false, ["strip_right"] = true });
        normalizers.Add(new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "Replace", ["pattern"] = new System.Text.Json.Nodes.JsonObject { ["Regex"] = " {2,}" }, ["content"] = SentencePieceNormalizer.Space.ToString(),
        });
        System.Text.Json.Nodes.JsonObject Metaspace() => new()
        {
            ["type"] = "Metaspace", ["replacement"] = SentencePieceNormalizer.Space.ToString(), ["prepend_scheme"] = _model.AddDummyPrefix ? "always" : "never", ["split"] = true,
        };
        var model = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "Unigram", ["unk_id"] = _layout == IdLayout.Fairseq ? 3 : _modelUnk, ["vocab"] = vocab, ["byte_fallback"] = false,
        };
        return TokenizerJsonWriter.File(sorted, new System.Text.Json.Nodes.JsonObject { ["type"] = "Sequence", ["normalizers"] = normalizers },
            Metaspace(), TokenizerJsonWriter.TemplateProcessing(Template, IdToToken), Metaspace(), model);
    }

    public override string Decode(IEnumerable<long> ids)
    {
        var sb = new StringBuilder();
        foreach (var l in ids)
        {
            int id = checked((int)l);
            if (_specialIds.Contains(id)) continue;
            sb.Append(IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary (0..{VocabSize - 1})"));
        }
        return sb.Replace(SentencePieceNormalizer.Space, ' ').ToString().TrimStart(' ');
    }
}
