using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distil.Text;

/// <summary>
/// Reads HF's tokenizer.json (the fast-tokenizer file): model (WordPiece, BPE, Unigram), the normalizer and
/// pre_tokenizer pieces each family uses, post_processor template and added_tokens. Anything else is refused by
/// name, with the supported list, rather than tokenised differently from transformers.
/// </summary>
public static class TokenizerJson
{
    public static readonly string[] SupportedModels = ["WordPiece", "BPE", "Unigram"];
    public static readonly string[] SupportedNormalizers = ["BertNormalizer", "Precompiled", "Replace", "Prepend", "Strip", "Sequence"];
    public static readonly string[] SupportedPreTokenizers = ["BertPreTokenizer", "ByteLevel", "Metaspace", "WhitespaceSplit", "Sequence"];

    public static TextTokenizer Load(string path)
    {
        JsonObject root;
        try { root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not a JSON object"); }
        catch (JsonException e) { throw DistilException.BadInput($"{path}: not valid JSON ({e.Message}); use the tokenizer.json saved with the model"); }
        var model = root["model"] as JsonObject ?? throw DistilException.BadInput($"{path}: no \"model\" object; a tokenizer.json names its model (one of {string.Join(", ", SupportedModels)})");
        string type = Str(model, "type") ?? (model["vocab"] is JsonArray ? "Unigram" : model["merges"] != null ? "BPE" : "WordPiece");
        var normalizers = Pieces(root["normalizer"], "normalizers");
        var preTokenizers = Pieces(root["pre_tokenizer"], "pretokenizers");
        foreach (var n in normalizers)
            if (!SupportedNormalizers.Contains(Str(n, "type")))
                throw DistilException.BadInput($"{path}: normalizer \"{Str(n, "type")}\" is not supported; supported: {string.Join(", ", SupportedNormalizers)}");
        foreach (var n in preTokenizers)
            if (!SupportedPreTokenizers.Contains(Str(n, "type")))
                throw DistilException.BadInput($"{path}: pre_tokenizer \"{Str(n, "type")}\" is not supported; supported: {string.Join(", ", SupportedPreTokenizers)}");
        var added = (root["added_tokens"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(a => new AddedToken(Str(a, "content") ?? "", (int)(a["id"]?.GetValue<long>() ?? -1), Bool(a, "lstrip") ?? false, Bool(a, "rstrip") ?? false, Bool(a, "special") ?? true))
            .Where(a => a.Id >= 0 && a.Content.Length > 0).ToList();

        TextTokenizer tokenizer = type switch
        {
            "WordPiece" => WordPiece(path, model, normalizers),
            "BPE" => Bpe(path, model, added, preTokenizers, root["post_processor"] as JsonObject),
            "Unigram" => Unigram(path, model, normalizers, preTokenizers),
            _ => throw DistilException.BadInput($"{path}: model type \"{type}\" is not supported; supported: {string.Join(", ", SupportedModels)}"),
        };
        if (Template(root["post_processor"] as JsonObject, path) is { } template) tokenizer.Template = template;
        return tokenizer;
    }

    static TextTokenizer WordPiece(string path, JsonObject model, List<JsonObject> normalizers)
    {
        var vocab = DenseVocab(path, model["vocab"] as JsonObject);
        var bert = normalizers.FirstOrDefault(n => Str(n, "type") == "BertNormalizer");
        var settings = bert == null ? new TokenizerSettings(false, false, false)
            : new TokenizerSettings(Bool(bert, "lowercase") ?? true, Bool(bert, "strip_accents"), Bool(bert, "handle_chinese_chars") ?? true);
        return new BertTextTokenizer(vocab, settings, path);
    }

    static TextTokenizer Bpe(string path, JsonObject model, List<AddedToken> added, List<JsonObject> preTokenizers, JsonObject? post)
    {
        var byteLevel = preTokenizers.FirstOrDefault(p => Str(p, "type") == "ByteLevel")
            ?? throw DistilException.BadInput($"{path}: a BPE tokenizer.json without the ByteLevel pre_tokenizer is not supported (only byte-level BPE, as RoBERTa / GPT-2)");
        var vocab = (model["vocab"] as JsonObject ?? throw DistilException.BadInput($"{path}: model.vocab is not an object of token -> id"))
            .ToDictionary(kv => kv.Key, kv => (int)kv.Value!.GetValue<long>());
        var merges = (model["merges"] as JsonArray ?? []).Select(m => m switch
        {
            JsonValue v when v.TryGetValue(out string? s) && s.IndexOf(' ') is int sp and > 0 => (s[..sp], s[(sp + 1)..]),
            JsonArray a when a.Count == 2 => (a[0]!.GetValue<string>(), a[1]!.GetValue<string>()),
            _ => throw DistilException.BadInput($"{path}: a merge must be \"a b\" or [\"a\", \"b\"], got {m?.ToJsonString()}"),
        }).ToList();
        bool trim = post != null && Bool(post, "trim_offsets") is bool t ? t : true;
        return new ByteLevelBpeTokenizer(vocab, merges, added, new ByteLevelBpeTokenizer.Specials(), Bool(byteLevel, "add_prefix_space") ?? false, trim, path);
    }

    static TextTokenizer Unigram(string path, JsonObject model, List<JsonObject> normalizers, List<JsonObject> preTokenizers)
    {
        var sp = new SentencePieceModel();
        foreach (var entry in model["vocab"] as JsonArray ?? [])
        {
            if (entry is not JsonArray { Count: 2 } pair) throw DistilException.BadInput($"{path}: a Unigram vocab entry is [piece, score], got {entry?.ToJsonString()}");
            sp.Pieces.Add(new SentencePieceModel.Piece(pair[0]!.GetValue<string>(), (float)pair[1]!.GetValue<double>(), SentencePieceModel.PieceType.Normal));
        }
        int unk = (int)(model["unk_id"]?.GetValue<long>() ?? 0);
        sp.UnkId = unk;
        if (unk >= 0 && unk < sp.Pieces.Count) sp.Pieces[unk] = sp.Pieces[unk] with { Type = SentencePieceModel.PieceType.Unknown };
        if (normalizers.FirstOrDefault(n => Str(n, "type") == "Precompiled") is { } pre && Str(pre, "precompiled_charsmap") is { } map)
            sp.PrecompiledCharsMap = Convert.FromBase64String(map);
        var meta = preTokenizers.FirstOrDefault(p => Str(p, "type") == "Metaspace");
        sp.AddDummyPrefix = meta == null || (Bool(meta, "add_prefix_space") ?? Str(meta, "prepend_scheme") != "never");
        // Pieces named like special tokens are the template's, not text (the fairseq layout does not apply: ids are the file's).
        for (int i = 0; i < sp.Pieces.Count; i++)
            if (sp.Pieces[i].Text is "<s>" or "</s>" or "<pad>" or "<mask>" or "[CLS]" or "[SEP]" or "[PAD]" or "[MASK]") sp.Pieces[i] = sp.Pieces[i] with { Type = SentencePieceModel.PieceType.Control };
        bool roberta = sp.Pieces.Any(p => p.Text == "<s>");
        var config = TokenizerConfig.FromTokens(roberta
            ? new() { ["cls_token"] = "<s>", ["sep_token"] = "</s>", ["pad_token"] = "<pad>", ["unk_token"] = sp.Pieces[unk].Text, ["mask_token"] = "<mask>" }
            : new() { ["unk_token"] = sp.Pieces[unk].Text });
        return new SentencePieceTokenizer(sp, SentencePieceTokenizer.IdLayout.Model, config, path);
    }

    /// <summary>TemplateProcessing / RobertaProcessing / BertProcessing as a <see cref="PairTemplate"/>; null if none.</summary>
    static PairTemplate? Template(JsonObject? post, string path)
    {
        if (post == null) return null;
        var pieces = Pieces(post, "processors");
        foreach (var p in pieces)
        {
            switch (Str(p, "type"))
            {
                case "RobertaProcessing": return PairTemplate.Roberta(SpecialId(p["cls"]), SpecialId(p["sep"]));
                case "BertProcessing": return PairTemplate.Bert(SpecialId(p["cls"]), SpecialId(p["sep"]));
                case "TemplateProcessing":
                    var specials = p["special_tokens"] as JsonObject ?? [];
                    TemplateItem[] Items(JsonNode? list) => (list as JsonArray ?? []).OfType<JsonObject>().Select(item =>
                    {
                        if (item["Sequence"] is JsonObject s) return TemplateItem.Text(Str(s, "id") == "B" ? 1 : 0, (int)(s["type_id"]?.GetValue<long>() ?? 0));
                        var sp = item["SpecialToken"] as JsonObject ?? throw DistilException.BadInput($"{path}: post_processor template item {item.ToJsonString()} is neither Sequence nor SpecialToken");
                        var name = Str(sp, "id") ?? "";
                        var ids = specials[name]?["ids"] as JsonArray;
                        if (ids is not { Count: 1 }) throw DistilException.BadInput($"{path}: post_processor special token {name} needs exactly one id in special_tokens");
                        return TemplateItem.Special((int)ids[0]!.GetValue<long>(), (int)(sp["type_id"]?.GetValue<long>() ?? 0));
                    }).ToArray();
                    return new PairTemplate(Items(p["single"]), Items(p["pair"]));
            }
        }
        return null;
    }

    static int SpecialId(JsonNode? pair) => pair is JsonArray { Count: 2 } a ? (int)a[1]!.GetValue<long>() : -1;

    static string[] DenseVocab(string path, JsonObject? vocab)
    {
        if (vocab == null) throw DistilException.BadInput($"{path}: model.vocab is not an object of token -> id");
        var tokens = new string[vocab.Count];
        foreach (var (t, v) in vocab)
        {
            long id = v!.GetValue<long>();
            if (id < 0 || id >= tokens.Length || tokens[id] != null)
                throw DistilException.BadInput($"{path}: model.vocab id {id} of \"{t}\" is out of 0..{tokens.Length - 1} or repeated; ids must be 0..n-1 once each");
            tokens[id] = t;
        }
        return tokens;
    }

    static List<JsonObject> Pieces(JsonNode? node, string listKey)
    {
        if (node is not JsonObject o) return [];
        if (Str(o, "type") == "Sequence") return (o[listKey] as JsonArray ?? []).OfType<JsonObject>().SelectMany(x => Pieces(x, listKey)).ToList();
        return [o];
    }

    static string? Str(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
    static bool? Bool(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue(out bool b) ? b : null;
}
