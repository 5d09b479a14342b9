/**
 * Dependency ordering, the deployer's one graph: of the assembly's stacks, and of a template's resources. Resource edges
 * are `Ref`, `Fn::GetAtt`, `Fn::Sub` variables and `DependsOn`; between the deployer's own resources they are followed
 * through the resources it does not deploy (a custom resource DependsOn its IAM policy, which refers to the repository:
 * the custom resource depends on the repository).
 */
import type { Template } from './assembly';
import { collectReferences } from './intrinsics';

/** For each of our resources, the other resources of ours it depends on, directly or through resources not ours. */
export function ourDependencies(template: Template, ours: readonly string[]): Map<string, string[]> {
  const resources = template.Resources ?? {};
  const oursSet = new Set(ours);
  const direct = (id: string): string[] => {
    const resource = resources[id];
    if (!resource) return [];
    const refs = collectReferences(resource.Properties ?? {});
    const dependsOn = resource.DependsOn === undefined ? [] : Array.isArray(resource.DependsOn) ? resource.DependsOn : [resource.DependsOn];
    for (const d of dependsOn) refs.add(d);
    refs.delete(id);
    return [...refs].filter((r) => resources[r] !== undefined);
  };
  // Which of our resources each resource that is not ours leads to, memoised (templates are acyclic; a cycle only stops).
  const throughOthers = new Map<string, Set<string>>();
  const reach = (id: string, visiting: Set<string>): Set<string> => {
    const known = throughOthers.get(id);
    if (known) return known;
    const found = new Set<string>();
    if (visiting.has(id)) return found;
    visiting.add(id);
    for (const ref of direct(id)) {
      if (oursSet.has(ref)) found.add(ref);
      else for (const r of reach(ref, visiting)) found.add(r);
    }
    visiting.delete(id);
    throughOthers.set(id, found);
    return found;
  };
  const result = new Map<string, string[]>();
  for (const id of ours) {
    const deps = new Set<string>();
    for (const ref of direct(id)) {
      if (oursSet.has(ref)) deps.add(ref);
      else for (const r of reach(ref, new Set([id]))) deps.add(r);
    }
    deps.delete(id);
    result.set(id, [...deps]);
  }
  return result;
}

/**
 * `ids` ordered so that every id comes after the ids it depends on (dependencies outside `ids` are ignored); ids that
 * do not depend on each other keep their given order. A cycle is an error listing it, naming the ids as `what`.
 */
export function dependencyOrder(ids: readonly string[], dependsOn: (id: string) => readonly string[], what: 'resources' | 'stacks' = 'resources'): string[] {
  const present = new Set(ids);
  const state = new Map<string, 'visiting' | 'done'>();
  const ordered: string[] = [];
  const stack: string[] = [];
  const visit = (id: string): void => {
    const s = state.get(id);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(id)), id];
      throw new Error(`Circular dependency between ${what}: ${cycle.join(' -> ')}`);
    }
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of dependsOn(id)) if (present.has(dep)) visit(dep);
    stack.pop();
    state.set(id, 'done');
    ordered.push(id);
  };
  ids.forEach(visit);
  return ordered;
}
