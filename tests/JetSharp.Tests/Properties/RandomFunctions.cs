using CsCheck;

namespace JetSharp.Tests.Properties;

/// <summary>
/// A random per-datum function f: [N, D] → [N, C…] as a straight-line program over the smooth primitives:
/// each step appends one value to a pool (starting with x) from earlier values. Shapes are tracked per datum
/// (the batch axis N is never reshaped, reduced, sliced or broadcast against another datum), so row n of
/// the output depends on row n of x only, and the program can be traced for any N (the nested strategy
/// retraces f for R·N data). Every value carries a conservative interval bound (x ∈ [−1, 1]ᴰ), which the
/// generator uses to keep the function well-conditioned: arguments of log, sqrt, fractional powers and
/// divisors are shifted to ≥ 1 (singularities at least 1 away, so fourth-order finite differences stay accurate), arguments of exp scaled into [−2, 2], and values whose bound passes 4
/// are rescaled.
/// </summary>
internal sealed class RandomFunction
{
    public required int D { get; init; }
    public required IReadOnlyList<Step> Steps { get; init; }
    /// <summary>Shape of one datum's output (C…, possibly empty).</summary>
    public required int[] OutputShape { get; init; }

    /// <summary>One program step: its text (for failure reports) and how it emits its node from the pool.</summary>
    public sealed record Step(string Text, Func<IReadOnlyList<Node>, Node> Emit);

    public Node Apply(Node x)
    {
        var pool = new List<Node> { x };
        foreach (var s in Steps) pool.Add(s.Emit(pool));
        return pool[^1];
    }

    public override string ToString() =>
        $"f: [N, {D}] → [N{string.Concat(OutputShape.Select(c => $", {c}"))}]\n" +
        string.Join("\n", Steps.Select((s, i) => $"  v{i + 1} = {s.Text}"));

    /// <summary>Random functions of inputs of dimension <paramref name="d"/>, with <paramref name="minSteps"/>..<paramref name="maxSteps"/> steps before the output is formed.</summary>
    /// <param name="ignored">Input axes f must not depend on: the program starts from x·m with m zero on them (so every derivative along them is exactly 0).</param>
    public static Gen<RandomFunction> Gen(int d, int minSteps = 2, int maxSteps = 7, int[]? ignored = null) =>
        new GenDraw<RandomFunction>(draw => new Builder(draw, d, ignored ?? []).Build(draw.Int(minSteps, maxSteps)));

    /// <summary>Per-datum shape and interval bound of a pool value.</summary>
    private sealed record Val(int[] Shape, double Lo, double Hi)
    {
        public int Rank => Shape.Length;
        public int Size => Shape.Aggregate(1, (a, b) => a * b);
        public double Abs => Math.Max(Math.Abs(Lo), Math.Abs(Hi));
        public string Text => $"[N{string.Concat(Shape.Select(c => $", {c}"))}]";
    }

    private sealed class Builder
    {
        private readonly Draw draw;
        private readonly int d;
        private readonly List<Val> _vals;
        private readonly List<Step> _steps = [];
        private readonly HashSet<int> _used = [];
        private readonly HashSet<int> _hidden = [];

        public Builder(Draw draw, int d, int[] ignored)
        {
            this.draw = draw;
            this.d = d;
            _vals = [new([d], -1, 1)];
            if (ignored.Length > 0)
            {
                var mask = NDArray.FromArray(Enumerable.Range(0, d).Select(a => ignored.Contains(a) ? 0.0 : 1.0).ToArray(), new Shape(d));
                Add($"x * mask{S(mask.Data)}", new([d], -1, 1), p => p[0] * p[0].Graph.Constant(mask));
                _hidden.Add(0);
            }
        }

        private static string S(double[] m) => $"[{string.Join(", ", m)}]";

        private static string V(int i) => i == 0 ? "x" : $"v{i}";

        private int Add(string text, Val val, Func<IReadOnlyList<Node>, Node> emit)
        {
            _steps.Add(new(text + $"  : {val.Text} ∈ [{val.Lo:G3}, {val.Hi:G3}]", emit));
            _vals.Add(val);
            return _vals.Count - 1;
        }

        /// <summary>Values over the bound 4 were rescaled (or are intermediates of a step): only their rescaled copies are used.</summary>
        private bool Usable(int i) => _vals[i].Abs <= 4 && !_hidden.Contains(i);

        /// <summary>A pool index, favouring recent values so the program is mostly one connected chain.</summary>
        private int Pick(Func<Val, bool>? ok = null)
        {
            var idx = Enumerable.Range(0, _vals.Count).Where(i => Usable(i) && (ok is null || ok(_vals[i]))).ToList();
            if (idx.Count == 0) return -1;
            int i = draw.Chance(0.6) ? idx[^1] : draw.Pick(idx);
            _used.Add(i);
            return i;
        }

        public RandomFunction Build(int steps)
        {
            for (int s = 0; s < steps; s++)
            {
                int before = _vals.Count;
                switch (draw.Int(0, 16))
                {
                    case 0 or 1 or 2: Affine(Pick()); break;
                    case 3 or 4 or 5 or 6: Unary(Pick()); break;
                    case 7 or 8: Binary(Pick()); break;
                    case 9: Reduce(Pick(v => v.Rank >= 1)); break;
                    case 10: Reshape(Pick()); break;
                    case 11: Transpose(Pick(v => v.Rank >= 2)); break;
                    case 12: Broadcast(Pick()); break;
                    case 13: SliceOrPad(Pick(v => v.Rank >= 1)); break;
                    case 14: Concat(Pick(v => v.Rank >= 1)); break;
                    case 15 or 16: BatchedMatMul(Pick()); break;
                }
                if (_vals.Count > before && _vals[^1].Abs > 4) Rescale(_vals.Count - 1);
            }
            FormOutput();
            return new RandomFunction { D = d, Steps = [.. _steps], OutputShape = _vals[^1].Shape };
        }

        // ---------------------------------------------------------------- steps

        private void Rescale(int i)
        {
            var v = _vals[i];
            double s = 2 / v.Abs;
            Add($"{V(i)} · {s:G4}", v with { Lo = v.Lo * s, Hi = v.Hi * s }, p => p[i] * s);
        }

        /// <summary>x·W + b over the last axis, W [k, h] (or Wᵀ stored [h, k]) with entries ~ U(−1, 1)/√k.</summary>
        private void Affine(int i)
        {
            var v = _vals[i];
            if (v.Rank == 0) { i = ToVector(i); v = _vals[i]; }
            int k = v.Shape[^1], h = draw.Int(1, 4);
            bool transposed = draw.Bool();
            var w = draw.Uniform(k * h, -1, 1).Select(e => e / Math.Sqrt(k)).ToArray();
            var b = draw.Uniform(h, -0.5, 0.5);
            var wArr = NDArray.FromArray(w, transposed ? new Shape(h, k) : new Shape(k, h));
            var bArr = NDArray.FromArray(b, new Shape(h));
            double colSum = Enumerable.Range(0, h).Max(c => Enumerable.Range(0, k).Sum(r => Math.Abs(w[transposed ? c * k + r : r * h + c])));
            double bound = v.Abs * colSum + 0.5;
            var shape = v.Shape[..^1].Append(h).ToArray();
            Add($"matmul({V(i)}, W{(transposed ? "ᵀ" : "")}[{k}→{h}]) + b", new(shape, -bound, bound), p =>
            {
                var x = p[i];
                // A 2-D right operand broadcasts over the batch axes of x (NumPy matmul); x of rank 1 per datum is [N, k].
                var y = Fn.MatMul(x, x.Graph.Constant(wArr), transposeB: transposed);
                return y + x.Graph.Constant(bArr);
            });
        }

        private int ToVector(int i)
        {
            var v = _vals[i];
            return Add($"reshape({V(i)}, [N, 1])", v with { Shape = [1] }, p => Fn.Reshape(p[i], p[i].Shape[0], 1));
        }

        private void Unary(int i) => Unary(i, draw.Int(0, 11));

        /// <summary>A transcendental function (sin … pow with a fractional exponent): every derivative order is non-zero.</summary>
        private void Nonlinear(int i) => Unary(i, draw.Int(0, 8));

        private void Unary(int i, int which)
        {
            var v = _vals[i];
            switch (which)
            {
                case 0: Add($"sin({V(i)})", v with { Lo = -1, Hi = 1 }, p => Fn.Sin(p[i])); break;
                case 1: Add($"cos({V(i)})", v with { Lo = -1, Hi = 1 }, p => Fn.Cos(p[i])); break;
                case 2: Add($"tanh({V(i)})", v with { Lo = Math.Tanh(v.Lo), Hi = Math.Tanh(v.Hi) }, p => Fn.Tanh(p[i])); break;
                case 3: Add($"sigmoid({V(i)})", v with { Lo = Sigmoid(v.Lo), Hi = Sigmoid(v.Hi) }, p => Fn.Sigmoid(p[i])); break;
                case 4: Add($"softplus({V(i)})", v with { Lo = Softplus(v.Lo), Hi = Softplus(v.Hi) }, p => Fn.Softplus(p[i])); break;
                case 5:
                {
                    double s = v.Abs > 2 ? 2 / v.Abs : 1;
                    Add($"exp({s:G4}·{V(i)})", v with { Lo = Math.Exp(s * v.Lo), Hi = Math.Exp(s * v.Hi) }, p => Fn.Exp(s == 1 ? p[i] : p[i] * s));
                    break;
                }
                case 6:
                {
                    double c = Shift(v);
                    Add($"log({V(i)} + {c:G4})", v with { Lo = Math.Log(v.Lo + c), Hi = Math.Log(v.Hi + c) }, p => Fn.Log(p[i] + c));
                    break;
                }
                case 7:
                {
                    double c = Shift(v);
                    Add($"sqrt({V(i)} + {c:G4})", v with { Lo = Math.Sqrt(v.Lo + c), Hi = Math.Sqrt(v.Hi + c) }, p => Fn.Sqrt(p[i] + c));
                    break;
                }
                case 8:
                {
                    double c = Shift(v), e = draw.Pick([-1.5, -1.0, -0.5, 0.5, 1.5, 2.5]);
                    double a = Math.Pow(v.Lo + c, e), b = Math.Pow(v.Hi + c, e);
                    Add($"pow({V(i)} + {c:G4}, {e})", v with { Lo = Math.Min(a, b), Hi = Math.Max(a, b) }, p => Fn.Pow(p[i] + c, e));
                    break;
                }
                case 9:
                {
                    double m = v.Abs;
                    Add($"square({V(i)})", v with { Lo = v.Lo <= 0 && v.Hi >= 0 ? 0 : Math.Min(v.Lo * v.Lo, v.Hi * v.Hi), Hi = m * m }, p => Fn.Square(p[i]));
                    break;
                }
                case 10: Add($"pow({V(i)}, 3)", v with { Lo = Math.Pow(v.Lo, 3), Hi = Math.Pow(v.Hi, 3) }, p => Fn.Pow(p[i], 3)); break;
                default: Add($"-{V(i)}", v with { Lo = -v.Hi, Hi = -v.Lo }, p => -p[i]); break;
            }
        }

        /// <summary>The shift c ≥ 0 that makes v + c ≥ 1.</summary>
        private static double Shift(Val v) => v.Lo >= 1 ? 0 : 1 - v.Lo;
        private static double Sigmoid(double t) => 1 / (1 + Math.Exp(-t));
        private static double Softplus(double t) => Math.Max(t, 0) + Math.Log(1 + Math.Exp(-Math.Abs(t)));

        /// <summary>
        /// a ∘ b for ∘ ∈ {+, −, ·, /} with NumPy broadcasting. b is another pool value of a compatible shape
        /// (same rank; extents equal or 1), a per-datum scalar of it stretched over a's axes, or a constant whose
        /// shape is a suffix of a's per-datum shape with random 1s (broadcast over the batch axis too).
        /// </summary>
        private void Binary(int i)
        {
            var a = _vals[i];
            string bText;
            Val b;
            Func<IReadOnlyList<Node>, Node> emitB;
            var compatible = Enumerable.Range(0, _vals.Count).Where(j => Usable(j)).Where(j => Broadcasts(_vals[j].Shape, a.Shape) || Broadcasts(a.Shape, _vals[j].Shape)).ToList();
            int mode = draw.Int(0, 2);
            if (mode == 0 && compatible.Count > 0)
            {
                int j = draw.Pick(compatible);
                _used.Add(j);
                b = _vals[j];
                bText = V(j);
                emitB = p => p[j];
            }
            else if (mode == 1 || a.Rank == 0)
            {
                // A per-datum scalar of another value, as [N, 1, …, 1] (mean over its per-datum axes).
                int j = Pick();
                var src = _vals[j];
                var ones = Enumerable.Repeat(1, a.Rank).ToArray();
                b = new Val(ones, src.Lo, src.Hi);
                bText = $"mean({V(j)})[N{string.Concat(ones.Select(_ => ", 1"))}]";
                emitB = p => src.Rank == 0 ? Fn.Reshape(p[j], [p[j].Shape[0], .. ones]) : Fn.Reshape(Fn.Mean(p[j], [.. Enumerable.Range(1, src.Rank)]), [p[j].Shape[0], .. ones]);
            }
            else
            {
                int keep = draw.Int(1, a.Rank);
                var shape = a.Shape[^keep..].Select(e => draw.Chance(0.3) ? 1 : e).ToArray();
                var data = draw.Uniform(shape.Aggregate(1, (x, y) => x * y), -1, 1);
                var c = NDArray.FromArray(data, new Shape(shape));
                b = new Val(shape, data.Min(), data.Max());
                bText = $"C[{string.Join(", ", shape)}]";
                emitB = p => p[i].Graph.Constant(c);
            }
            var outShape = BroadcastShape(a.Shape, b.Shape);
            switch (draw.Int(0, 3))
            {
                case 0: Add($"{V(i)} + {bText}", new(outShape, a.Lo + b.Lo, a.Hi + b.Hi), p => p[i] + emitB(p)); break;
                case 1: Add($"{V(i)} - {bText}", new(outShape, a.Lo - b.Hi, a.Hi - b.Lo), p => p[i] - emitB(p)); break;
                case 2:
                {
                    var (lo, hi) = Product(a.Lo, a.Hi, b.Lo, b.Hi);
                    Add($"{V(i)} * {bText}", new(outShape, lo, hi), p => p[i] * emitB(p));
                    break;
                }
                default:
                {
                    double c = Shift(b);
                    var (lo, hi) = Product(a.Lo, a.Hi, 1 / (b.Hi + c), 1 / (b.Lo + c));
                    Add($"{V(i)} / ({bText} + {c:G4})", new(outShape, lo, hi), p => p[i] / (emitB(p) + c));
                    break;
                }
            }
        }

        private static (double, double) Product(double a, double b, double c, double d)
        {
            double[] ps = [a * c, a * d, b * c, b * d];
            return (ps.Min(), ps.Max());
        }

        /// <summary>Whether per-datum shape <paramref name="from"/> broadcasts to <paramref name="to"/> with the same rank (the batch axis is then aligned).</summary>
        private static bool Broadcasts(int[] from, int[] to) =>
            from.Length == to.Length && from.Zip(to).All(p => p.First == p.Second || p.First == 1);

        private static int[] BroadcastShape(int[] a, int[] b)
        {
            int r = Math.Max(a.Length, b.Length);
            var s = new int[r];
            for (int k = 0; k < r; k++)
            {
                int ea = k - (r - a.Length) >= 0 ? a[k - (r - a.Length)] : 1;
                int eb = k - (r - b.Length) >= 0 ? b[k - (r - b.Length)] : 1;
                s[k] = Math.Max(ea, eb);
            }
            return s;
        }

        /// <summary>Sum or mean over a random non-empty set of per-datum axes, keepDims random.</summary>
        private void Reduce(int i)
        {
            if (i < 0) return;
            var v = _vals[i];
            var axes = Enumerable.Range(0, v.Rank).Where(_ => draw.Bool()).ToArray();
            if (axes.Length == 0) axes = [draw.Int(0, v.Rank - 1)];
            bool keep = draw.Bool(), mean = draw.Bool();
            int count = axes.Aggregate(1, (c, a) => c * v.Shape[a]);
            var shape = keep ? v.Shape.Select((e, k) => axes.Contains(k) ? 1 : e).ToArray() : v.Shape.Where((_, k) => !axes.Contains(k)).ToArray();
            double s = mean ? 1 : count;
            var nodeAxes = axes.Select(a => a + 1).ToArray();
            Add($"{(mean ? "mean" : "sum")}({V(i)}, axes [{string.Join(", ", nodeAxes)}]{(keep ? ", keepDims" : "")})", new(shape, v.Lo * s, v.Hi * s),
                p => mean ? Fn.Mean(p[i], nodeAxes, keep) : Fn.Sum(p[i], nodeAxes, keep));
        }

        /// <summary>A new factorisation of the per-datum size (1..3 axes, size-1 axes allowed).</summary>
        private void Reshape(int i)
        {
            var v = _vals[i];
            int size = v.Size;
            var divisors = Enumerable.Range(1, size).Where(q => size % q == 0).ToList();
            int rank = draw.Int(0, 3);
            if (size > 1 && rank == 0) rank = 1;
            var shape = new List<int>();
            int rest = size;
            for (int k = 0; k < rank - 1; k++)
            {
                var ds = divisors.Where(q => rest % q == 0).ToList();
                int e = draw.Pick(ds);
                shape.Add(e);
                rest /= e;
            }
            if (rank > 0) shape.Add(rest);
            var dims = shape.ToArray();
            Add($"reshape({V(i)}, [N{string.Concat(dims.Select(c => $", {c}"))}])", v with { Shape = dims }, p => Fn.Reshape(p[i], [p[i].Shape[0], .. dims]));
        }

        /// <summary>A random permutation of the per-datum axes (the batch axis stays first).</summary>
        private void Transpose(int i)
        {
            if (i < 0) return;
            var v = _vals[i];
            var perm = Enumerable.Range(0, v.Rank).OrderBy(_ => draw.Int(0, 1000)).ToArray();
            var nodePerm = perm.Select(a => a + 1).Prepend(0).ToArray();
            Add($"transpose({V(i)}, [{string.Join(", ", nodePerm)}])", v with { Shape = [.. perm.Select(a => v.Shape[a])] }, p => Fn.Transpose(p[i], nodePerm));
        }

        /// <summary>Stretches the size-1 per-datum axes, or inserts a new per-datum axis of extent 2..3 and broadcasts along it.</summary>
        private void Broadcast(int i)
        {
            var v = _vals[i];
            if (v.Rank >= 3) { Unary(i); return; }
            int[] from = v.Shape;
            int[] target;
            bool insert = !v.Shape.Contains(1) || draw.Bool();
            if (insert)
            {
                int at = draw.Int(0, v.Rank);
                from = [.. v.Shape[..at], 1, .. v.Shape[at..]];
                target = [.. v.Shape[..at], draw.Int(2, 3), .. v.Shape[at..]];
            }
            else target = [.. v.Shape.Select(e => e == 1 ? draw.Int(2, 3) : e)];
            var f = from;
            var t = target;
            Add($"broadcast({V(i)} as [N{string.Concat(f.Select(c => $", {c}"))}], [N{string.Concat(t.Select(c => $", {c}"))}])", v with { Shape = t },
                p =>
                {
                    int n = p[i].Shape[0];
                    return Fn.BroadcastTo(Fn.Reshape(p[i], [n, .. f]), new Shape([n, .. t]));
                });
        }

        /// <summary>A slice of one per-datum axis, or zero padding of the per-datum axes.</summary>
        private void SliceOrPad(int i)
        {
            if (i < 0) return;
            var v = _vals[i];
            int axis = draw.Int(0, v.Rank - 1), e = v.Shape[axis];
            if (e >= 2 && draw.Bool())
            {
                int len = draw.Int(1, e - 1), start = draw.Int(0, e - len);
                var shape = v.Shape.ToArray();
                shape[axis] = len;
                Add($"slice({V(i)}, axis {axis + 1}, {start}:{start + len})", v with { Shape = shape }, p => Fn.Slice(p[i], axis + 1, start, len));
            }
            else
            {
                var before = v.Shape.Select(_ => draw.Int(0, 1)).ToArray();
                var after = v.Shape.Select(_ => draw.Int(0, 2)).ToArray();
                var shape = v.Shape.Select((x, k) => x + before[k] + after[k]).ToArray();
                Add($"pad({V(i)}, before [0, {string.Join(", ", before)}], after [0, {string.Join(", ", after)}])", new(shape, Math.Min(v.Lo, 0), Math.Max(v.Hi, 0)),
                    p => Fn.Pad(p[i], [0, .. before], [0, .. after]));
            }
        }

        /// <summary>Concatenation of a value and another of the same per-datum shape but along one axis (a transformed copy when no other fits).</summary>
        private void Concat(int i)
        {
            if (i < 0) return;
            var v = _vals[i];
            int axis = draw.Int(0, v.Rank - 1);
            var partners = Enumerable.Range(0, _vals.Count).Where(j => Usable(j) && _vals[j].Rank == v.Rank &&
                _vals[j].Shape.Select((e, k) => k == axis || e == v.Shape[k]).All(t => t)).ToList();
            int j = partners.Count > 1 && draw.Bool() ? draw.Pick(partners) : -1;
            if (j >= 0) _used.Add(j);
            if (j < 0)
            {
                Unary(i);
                j = _vals.Count - 1;
            }
            var w = _vals[j];
            var shape = v.Shape.ToArray();
            shape[axis] += w.Shape[axis];
            bool swap = draw.Bool();
            int first = swap ? j : i, second = swap ? i : j;
            Add($"concat(axis {axis + 1}, {V(first)}, {V(second)})", new(shape, Math.Min(v.Lo, w.Lo), Math.Max(v.Hi, w.Hi)),
                p => Fn.Concat(axis + 1, p[first], p[second]));
        }

        /// <summary>
        /// A per-datum matrix product: a = value i as [N, m, k] (reshaped), b = [N, k, p] from an affine map
        /// of another value, both depending on x, multiplied with random transpose flags.
        /// </summary>
        private void BatchedMatMul(int i)
        {
            var v = _vals[i];
            int size = v.Size;
            var ms = Enumerable.Range(1, size).Where(q => size % q == 0).ToList();
            int m = draw.Pick(ms), k = size / m, pcols = draw.Int(1, 3);
            int aIdx = Add($"reshape({V(i)}, [N, {m}, {k}])", v with { Shape = [m, k] }, p => Fn.Reshape(p[i], p[i].Shape[0], m, k));
            bool ta = draw.Bool(), tb = draw.Bool();
            if (ta)
            {
                int r = aIdx;
                aIdx = Add($"transpose({V(r)}, [0, 2, 1])", v with { Shape = [k, m] }, p => Fn.Transpose(p[r], 0, 2, 1));
            }
            int j = Pick();
            var src = _vals[j];
            int flat = src.Size;
            int srcFlat = Add($"reshape({V(j)}, [N, {flat}])", src with { Shape = [flat] }, p => Fn.Reshape(p[j], p[j].Shape[0], flat));
            Affine(srcFlat);                                                   // [N, h] with h random; widen to k·p below
            int lin = _vals.Count - 1;
            int h = _vals[lin].Shape[0];
            var w2 = draw.Uniform(h * k * pcols, -1, 1).Select(e => e / Math.Sqrt(h)).ToArray();
            var w2Arr = NDArray.FromArray(w2, new Shape(h, k * pcols));
            double bBound = _vals[lin].Abs * Enumerable.Range(0, k * pcols).Max(c => Enumerable.Range(0, h).Sum(r => Math.Abs(w2[r * k * pcols + c])));
            int bIdx = Add($"reshape(matmul({V(lin)}, W[{h}→{k * pcols}]), [N, {(tb ? pcols : k)}, {(tb ? k : pcols)}])", new([tb ? pcols : k, tb ? k : pcols], -bBound, bBound),
                p => Fn.Reshape(Fn.MatMul(p[lin], p[lin].Graph.Constant(w2Arr)), p[lin].Shape[0], tb ? pcols : k, tb ? k : pcols));
            double bound = k * v.Abs * bBound;
            int a2 = aIdx;
            Add($"matmul({V(a2)}{(ta ? "ᵀ" : "")}, {V(bIdx)}{(tb ? "ᵀ" : "")}) per datum", new([m, pcols], -bound, bound),
                p => Fn.MatMul(p[a2], p[bIdx], transposeA: ta, transposeB: tb));
        }

        /// <summary>
        /// The output: the last value plus per-datum means of the values no step used (so every step matters),
        /// through one smooth nonlinearity, reduced to at most 2 per-datum axes and at most 4 channels.
        /// </summary>
        private void FormOutput()
        {
            int last = _vals.Count - 1;
            foreach (int j in Enumerable.Range(1, Math.Max(0, last - 1)).Where(j => Usable(j) && !_used.Contains(j)).TakeLast(3).ToList())
            {
                var a = _vals[last];
                var src = _vals[j];
                var ones = Enumerable.Repeat(1, a.Rank).ToArray();
                int l = last;
                last = Add($"{V(l)} + mean({V(j)})[N{string.Concat(ones.Select(_ => ", 1"))}]", a with { Lo = a.Lo + src.Lo, Hi = a.Hi + src.Hi },
                    p => p[l] + (src.Rank == 0 ? Fn.Reshape(p[j], [p[j].Shape[0], .. ones]) : Fn.Reshape(Fn.Mean(p[j], [.. Enumerable.Range(1, src.Rank)]), [p[j].Shape[0], .. ones])));
            }
            if (_vals[last].Abs > 4) Rescale(last);
            Nonlinear(_vals.Count - 1);
            last = _vals.Count - 1;
            if (_vals[last].Abs > 4) Rescale(last);
            last = _vals.Count - 1;
            var v = _vals[last];
            if (v.Rank > 2 || v.Size > 4)
            {
                // Sum away leading per-datum axes, then keep at most 4 entries of the flattened rest.
                int flat = v.Size;
                int idx = Add($"reshape({V(last)}, [N, {flat}])", v with { Shape = [flat] }, p => Fn.Reshape(p[last], p[last].Shape[0], flat));
                if (flat > 4)
                {
                    int keep = draw.Int(1, 4), start = draw.Int(0, flat - keep);
                    Add($"slice({V(idx)}, axis 1, {start}:{start + keep})", v with { Shape = [keep] }, p => Fn.Slice(p[idx], 1, start, keep));
                }
            }
        }
    }
}
