"""Print evalapp's package-level import graph against the floors declared in pyproject.toml.

    python scripts/import_graph.py [PATH_TO_EVALAPP]

For each package: the packages it imports. Then the imports that run upward (against the floors of
the import-linter contract), imports of another package's views, cycles between packages, and the
number of floors the graph actually has (the longest chain of imports, when there is no cycle).
`lint-imports` is what keeps the contract; this script shows the shape, e.g. to compare two commits.
"""
import ast
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def declared_floors():
    """{package: floor number, 0 = ground} from the layers contract in pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    layers = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")["layers"]
    floors = {}
    for height, layer in enumerate(reversed(layers)):
        for name in layer.replace("|", " ").replace(":", " ").split():
            floors[name] = height
    return floors


def imported_modules(node, parts):
    """Dotted names (relative to evalapp) that one import statement in module `parts` imports."""
    if isinstance(node, ast.Import):
        return [alias.name.removeprefix("evalapp.") for alias in node.names if alias.name.startswith("evalapp.")]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = list(parts[: len(parts) - node.level])
        if node.module:
            return [".".join(base + [node.module])]
        return [".".join(base + [alias.name]) for alias in node.names]
    if node.module == "evalapp":
        return [alias.name for alias in node.names]
    if node.module and node.module.startswith("evalapp."):
        return [node.module.removeprefix("evalapp.")]
    return []


def package_imports(package_dir):
    """{(importing package, imported package): ["file:line -> module", ...]} between evalapp's subpackages."""
    edges = defaultdict(list)
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir)
        if len(relative.parts) < 2:
            continue  # evalapp/__init__.py and evalapp/models.py: the app itself, above every floor
        source = relative.parts[0]
        module_parts = relative.with_suffix("").parts
        for node in ast.walk(ast.parse(path.read_text())):
            for module in imported_modules(node, module_parts):
                target = module.split(".")[0]
                if target and target != source and (package_dir / target).is_dir():
                    edges[(source, target)].append(f"{relative}:{node.lineno} -> {module}")
    return edges


def cycles(edges):
    """Groups of packages that import each other, directly or through others (Tarjan)."""
    graph = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in list(graph):
        if node not in index:
            visit(node)
    return groups


def floors_in_use(edges):
    """The longest chain of package imports plus one: how many floors the graph really has."""
    graph = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
    depth = {}

    def height(node):
        if node not in depth:
            depth[node] = 1 + max((height(other) for other in graph[node]), default=0)
        return depth[node]

    return max(height(node) for node in {s for s, _ in edges} | {t for _, t in edges})


def main():
    package_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "evalapp"
    floors, edges = declared_floors(), package_imports(package_dir)
    for source in sorted({s for s, _ in edges}, key=lambda name: (floors.get(name, 99), name)):
        print(f"{source:>14} -> {', '.join(sorted(t for s, t in edges if s == source))}")
    upward = {pair: where for pair, where in edges.items() if floors.get(pair[1], -1) > floors.get(pair[0], 99)}
    views = [line for where in edges.values() for line in where if line.split("-> ")[1].split(".")[1:2] == ["views"]]
    groups = cycles(edges)
    print(f"\npackage imports: {len(edges)} pairs, {sum(map(len, edges.values()))} import statements")
    print(f"upward: {len(upward)} pairs, {sum(map(len, upward.values()))} import statements")
    for (source, target), where in sorted(upward.items()):
        print(f"  {source} -> {target}: {'; '.join(where)}")
    print(f"imports of another package's views: {len(views)}")
    for line in views:
        print(f"  {line}")
    print(f"cycles: {len(groups)}" + "".join(f"\n  {' <-> '.join(group)}" for group in groups))
    print(f"floors in use: {floors_in_use(edges) if not groups else 'undefined (cycles)'}; declared: {len(set(floors.values()))}")


if __name__ == "__main__":
    main()
