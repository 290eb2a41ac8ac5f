namespace Distil.Text;

/// <summary>
/// The one place a model folder's tokenizer is chosen, by the files it holds: <c>tokenizer.json</c> (HF fast-tokenizer
/// file; its model.type picks WordPiece, BPE or Unigram), else <c>vocab.txt</c> (WordPiece), <c>vocab.json</c> +
/// <c>merges.txt</c> (byte-level BPE, RoBERTa / GPT-2), <c>sentencepiece.bpe.model</c> (XLM-R, CamemBERT: fairseq ids)
/// or <c>spm.model</c> (DeBERTa-v2/v3), each with the settings of <c>tokenizer_config.json</c>.
/// </summary>
public static class TokenizerFolder
{
    public const string TokenizerJsonFile = "tokenizer.json", VocabTxtFile = "vocab.txt", VocabJsonFile = "vocab.json",
        MergesFile = "merges.txt", XlmrSpmFile = "sentencepiece.bpe.model", DebertaSpmFile = "spm.model", ConfigFile = "tokenizer_config.json";

    /// <summary>The tokenizer of a model folder; refuses a vocabulary larger than config.json's vocab_size.</summary>
    public static TextTokenizer Load(string folder)
    {
        if (!Directory.Exists(folder)) throw DistilException.NotFound($"{folder}: model folder not found; pass a folder holding tokenizer.json or vocab.txt");
        var tokenizer = LoadUnchecked(folder);
        BertTextTokenizer.CheckFitsModel(tokenizer, Path.Combine(folder, "config.json"));
        return tokenizer;
    }

    static TextTokenizer LoadUnchecked(string folder)
    {
        string F(string name) => Path.Combine(folder, name);
        if (File.Exists(F(TokenizerJsonFile))) return TokenizerJson.Load(F(TokenizerJsonFile));
        if (File.Exists(F(VocabTxtFile))) return BertTextTokenizer.FromFiles(F(VocabTxtFile), F(ConfigFile));
        if (File.Exists(F(VocabJsonFile)) && File.Exists(F(MergesFile)))
            return ByteLevelBpeTokenizer.FromFiles(F(VocabJsonFile), F(MergesFile), F(ConfigFile));
        if (File.Exists(F(XlmrSpmFile))) return SentencePieceTokenizer.FromFile(F(XlmrSpmFile), SentencePieceTokenizer.IdLayout.Fairseq, F(ConfigFile));
        if (File.Exists(F(DebertaSpmFile))) return SentencePieceTokenizer.FromFile(F(DebertaSpmFile), SentencePieceTokenizer.IdLayout.Model, F(ConfigFile));
        throw DistilException.NotFound($"{folder}: no tokenizer files; a model folder needs {TokenizerJsonFile}, {VocabTxtFile}, {VocabJsonFile} + {MergesFile}, {XlmrSpmFile} or {DebertaSpmFile}");
    }
}
