using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distil.Text;

/// <summary>
/// Writes HF's tokenizer.json (the fast-tokenizer file transformers' AutoTokenizer and the Rust tokenizers library read)
/// for our tokenizers, with the pieces transformers' own converters (convert_slow_tokenizer.py: BertConverter,
/// RobertaConverter, SpmConverter) put there: the same normalizer, pre-tokenizer, model, template and decoder, so the
/// file tokenises as we do. Each tokenizer fills in its part through <see cref="TextTokenizer.ToTokenizerJson"/>.
/// </summary>
public static class TokenizerJsonWriter
{
    /// <summary>The file as text: indented, non-ASCII kept readable (still valid JSON for serde and Python's json).</summary>
    public static string ToText(JsonObject json) => json.ToJsonString(Options);

    static readonly JsonSerializerOptions Options = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The whole file, in the key order the tokenizers library writes.</summary>
    public static JsonObject File(JsonArray addedTokens, JsonNode? normalizer, JsonNode? preTokenizer, JsonNode? postProcessor, JsonNode? decoder, JsonObject model) => new()
    {
        ["version"] = "1.0",
        ["truncation"] = null,
        ["padding"] = null,
        ["added_tokens"] = addedTokens,
        ["normalizer"] = normalizer,
        ["pre_tokenizer"] = preTokenizer,
        ["post_processor"] = postProcessor,
        ["decoder"] = decoder,
        ["model"] = model,
    };

    /// <summary>One added_tokens entry: matched in the raw text before the model runs.</summary>
    public static JsonObject Added(int id, string content, bool lstrip = false, bool special = true) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = lstrip, ["rstrip"] = false, ["normalized"] = false, ["special"] = special,
    };

    /// <summary>HF's TemplateProcessing for <paramref name="template"/>: special tokens by their vocabulary entry, A/B with type ids.</summary>
    public static JsonObject TemplateProcessing(PairTemplate template, Func<int, string?> token)
    {
        var specials = new JsonObject();
        JsonArray Items(TemplateItem[] items)
        {
            var list = new JsonArray();
            foreach (var item in items)
            {
                if (item.SpecialId < 0)
                {
                    list.Add(new JsonObject { ["Sequence"] = new JsonObject { ["id"] = item.Sequence == 0 ? "A" : "B", ["type_id"] = item.TypeId } });
                    continue;
                }
                string name = token(item.SpecialId) ?? throw new InvalidOperationException($"template special id {item.SpecialId} is not in the vocabulary");
                specials[name] ??= new JsonObject { ["id"] = name, ["ids"] = new JsonArray(item.SpecialId), ["tokens"] = new JsonArray(name) };
                list.Add(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = name, ["type_id"] = item.TypeId } });
            }
            return list;
        }
        var single = Items(template.Single);
        var pair = Items(template.Pair);
        return new JsonObject { ["type"] = "TemplateProcessing", ["single"] = single, ["pair"] = pair, ["special_tokens"] = specials };
    }
}
