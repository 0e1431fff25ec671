// ES2025 Set methods for tools (gitlab-ci-local) that use them, on Node 20, which lacks them; Node 22 has its own.
const set = Set.prototype;
set.union ??= function union(other) {
  const result = new Set(this);
  for (const value of other.keys()) result.add(value);
  return result;
};
set.intersection ??= function intersection(other) {
  const result = new Set();
  for (const value of this) if (other.has(value)) result.add(value);
  return result;
};
set.difference ??= function difference(other) {
  const result = new Set();
  for (const value of this) if (!other.has(value)) result.add(value);
  return result;
};
set.isSubsetOf ??= function isSubsetOf(other) {
  for (const value of this) if (!other.has(value)) return false;
  return true;
};
