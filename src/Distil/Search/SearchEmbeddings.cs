// The supernet's embedding. Shapes: B = batch, T = tokens, H = hidden.
using Distil.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.Search;

/// <summary>The teacher's word and position tables, frozen and kept out of the module's state (they are the teacher's).</summary>
public sealed record TeacherTables(Tensor Word, Tensor Position)
{
    /// <summary>Copies of a teacher's tables, any family (<see cref="EncoderEmbeddings"/>); a family without absolute
    /// positions (DeBERTa-v3) gives a zero table of max_position_embeddings rows: the student then learns no position term from it.</summary>
    public static TeacherTables Of(EncoderClassifier teacher, Device device)
    {
        var word = EncoderEmbeddings.Word(teacher).detach().clone().to(device);
        var position = EncoderEmbeddings.Position(teacher)?.detach().clone().to(device)
            ?? zeros(teacher.Shape.MaxPositionEmbeddings, word.shape[1], device: device);
        return new TeacherTables(word, position);
    }
}

/// <summary>
/// Search-time embedding (TF AdaBERT, docs/adabert.md §Embeddings): the teacher's token + position embeddings projected to the
/// student width by a learned matrix, then LayerNorm and dropout. Linear, so the derived model folds it into
/// low-dimensional tables word·Cᵀ and position·Cᵀ (<see cref="AdaBertCnn"/>).
/// </summary>
public sealed class SearchEmbeddings : nn.Module
{
    public readonly Linear projection;
    public readonly LayerNorm LayerNorm;
    readonly Dropout dropout;
    readonly TeacherTables tables;

    public SearchEmbeddings(TeacherTables tables, int hidden, double dropoutP) : base(nameof(SearchEmbeddings))
    {
        this.tables = tables;
        projection = nn.Linear(tables.Word.shape[1], hidden, hasBias: false);
        nn.init.xavier_uniform_(projection.weight);
        LayerNorm = nn.LayerNorm(hidden, eps: 1e-12);
        dropout = nn.Dropout(dropoutP);
        RegisterComponents();
    }

    public TeacherTables Tables => tables;

    public Tensor forward(Tensor inputIds, Tensor tokenTypes)
    {
        using var scope = NewDisposeScope();
        var summed = tables.Word.index_select(0, inputIds.reshape(-1)).view(inputIds.shape[0], inputIds.shape[1], -1)
                   + tables.Position.index_select(0, CnnInputs.Positions(tokenTypes).reshape(-1)).view(inputIds.shape[0], inputIds.shape[1], -1); // (B, T, H_teacher)
        return dropout.forward(LayerNorm.forward(projection.forward(summed))).MoveToOuterDisposeScope();
    }
}
