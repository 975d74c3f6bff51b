//! What a parsed expression reads: the parts of `$states`, the workflow variables and the host
//! functions it needs bound ([`Usage`], a superset, so an evaluation binds nothing it could miss),
//! and the workflow variables it reads from outside ([`free_variables`], scoped, for validation).

use std::collections::HashSet;
use std::rc::Rc;

use jsonata_core::ast::{AstNode, PathStep, Stage};
use jsonata_core::value::JValue;
use serde_json::Value;

use super::Scope;
use super::convert::to_jvalue;
use super::functions::{Host, HostSet};

/// JSONata's built-in function names: `$sum` passed as a value is a function, not a variable.
const BUILTINS: &str = "\
    abs append assert average base64decode base64encode boolean ceil contains count \
    decodeUrl decodeUrlComponent distinct each encodeUrl encodeUrlComponent error \
    eval exists filter floor formatBase formatInteger formatNumber fromMillis join \
    keys length lookup lowercase map match max merge millis min not now number pad \
    parseInteger power random reduce replace reverse round shuffle sift single sort \
    split spread sqrt string substring substringAfter substringBefore sum toMillis \
    trim type uppercase zip partition range hash uuid parse";

/// The `$states` fields, in the order `$states` lists them.
const FIELDS: [&str; 4] = ["input", "context", "result", "errorOutput"];

/// What one expression needs bound to evaluate.
#[derive(Debug, Default)]
pub(super) struct Usage {
    pub(super) states: StatesUsage,
    /// Every `$name` the expression mentions as a value (bound ones included): the workflow
    /// variables to bind, when they exist.
    pub(super) variables: Vec<String>,
    /// The host functions it calls or mentions.
    pub(super) functions: HostSet,
}

/// Which parts of `$states` an expression reads.
#[derive(Debug, Default)]
pub(super) struct StatesUsage {
    /// `$states` appears at all.
    read: bool,
    /// It is read other than as `$states.<field>`, or a `%` parent step could climb out of a
    /// field: bind all of it.
    whole: bool,
    /// Per field of [`FIELDS`].
    fields: [FieldUse; 4],
}

/// How a `$states` field is read.
#[derive(Debug, Default, Clone)]
enum FieldUse {
    #[default]
    Unread,
    /// Only as `$states.<field>.<key>…`: the keys are enough (when the field is an object).
    Keys(Vec<String>),
    /// Any other way.
    Whole,
}

impl FieldUse {
    fn add_key(&mut self, key: &str) {
        match self {
            FieldUse::Unread => *self = FieldUse::Keys(vec![key.to_owned()]),
            FieldUse::Keys(keys) if !keys.iter().any(|known| known == key) => {
                keys.push(key.to_owned());
            }
            FieldUse::Keys(_) | FieldUse::Whole => {}
        }
    }
}

impl StatesUsage {
    /// `$states` for `scope`, holding what the expression can read; `None` if it reads nothing.
    pub(super) fn bind(&self, scope: &Scope<'_>) -> Option<JValue> {
        if !self.read {
            return None;
        }
        let values = [
            Some(scope.input),
            Some(scope.context),
            scope.result,
            scope.error_output,
        ];
        let members =
            FIELDS
                .iter()
                .zip(values)
                .zip(&self.fields)
                .filter_map(|((name, value), usage)| {
                    let value = value?;
                    let converted = match (usage, value) {
                        _ if self.whole => to_jvalue(value),
                        (FieldUse::Unread, _) => return None,
                        // Only these keys are ever looked up, so their order does not matter.
                        (FieldUse::Keys(keys), Value::Object(map)) => JValue::Object(Rc::new(
                            keys.iter()
                                .filter_map(|key| Some((key.clone(), to_jvalue(map.get(key)?))))
                                .collect(),
                        )),
                        (FieldUse::Keys(_) | FieldUse::Whole, _) => to_jvalue(value),
                    };
                    Some(((*name).to_owned(), converted))
                });
        Some(JValue::Object(Rc::new(members.collect())))
    }
}

impl Usage {
    /// What `ast` needs bound.
    pub(super) fn of(ast: &AstNode) -> Usage {
        let mut usage = Usage::default();
        let mut variables = HashSet::new();
        usage.visit(ast, &mut variables);
        usage
    }

    fn visit(&mut self, node: &AstNode, seen: &mut HashSet<String>) {
        match node {
            AstNode::Path { steps } if is_states_path(steps) => {
                self.states_path(steps);
                for step in &steps[1..] {
                    self.visit_step(step, seen);
                }
            }
            AstNode::Variable(name) if name == "states" => {
                self.states.read = true;
                self.states.whole = true;
            }
            AstNode::Variable(name) => {
                if let Some(host) = Host::named(name) {
                    self.functions.insert(host);
                }
                if !name.is_empty() && seen.insert(name.clone()) {
                    self.variables.push(name.clone());
                }
            }
            AstNode::Function { name, args, .. } => {
                if let Some(host) = Host::named(name) {
                    self.functions.insert(host);
                }
                for arg in args {
                    self.visit(arg, seen);
                }
            }
            AstNode::Parent(_) => self.states.whole = true,
            _ => children(node, &mut |child| self.visit(child, seen)),
        }
    }

    fn visit_step(&mut self, step: &PathStep, seen: &mut HashSet<String>) {
        self.visit(&step.node, seen);
        for stage in &step.stages {
            if let Stage::Filter(filter) = stage {
                self.visit(filter, seen);
            }
        }
    }

    /// Records a path that starts at a plain `$states`.
    fn states_path(&mut self, steps: &[PathStep]) {
        self.states.read = true;
        let field = steps.get(1).and_then(|step| match &step.node {
            AstNode::Name(name) => FIELDS.iter().position(|field| field == name),
            _ => None,
        });
        let Some(field) = field else {
            // `$states.<not a field>` is undefined whatever is bound; anything else needs all.
            if !matches!(steps.get(1).map(|step| &step.node), Some(AstNode::Name(_))) {
                self.states.whole = true;
            }
            return;
        };
        let key = match (steps.get(1), steps.get(2)) {
            (Some(field_step), Some(key_step)) if is_plain(field_step) => match &key_step.node {
                AstNode::Name(key) => Some(key),
                _ => None,
            },
            _ => None,
        };
        let usage = &mut self.states.fields[field];
        match key {
            Some(key) => usage.add_key(key),
            None => *usage = FieldUse::Whole,
        }
    }
}

/// A path step with no predicate, binding or parent label.
fn is_plain(step: &PathStep) -> bool {
    step.stages.is_empty()
        && step.focus.is_none()
        && step.index_var.is_none()
        && step.ancestor_label.is_none()
        && !step.is_tuple
}

/// A path whose first step is a plain `$states`.
fn is_states_path(steps: &[PathStep]) -> bool {
    steps.first().is_some_and(|first| {
        is_plain(first) && matches!(&first.node, AstNode::Variable(name) if name == "states")
    })
}

/// Calls `f` on each direct sub-expression of `node`.
fn children(node: &AstNode, f: &mut impl FnMut(&AstNode)) {
    match node {
        AstNode::Path { steps } => {
            for step in steps {
                f(&step.node);
                for stage in &step.stages {
                    if let Stage::Filter(filter) = stage {
                        f(filter);
                    }
                }
            }
        }
        AstNode::Binary { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        AstNode::Unary { operand, .. } => f(operand),
        AstNode::Function { args, .. } => args.iter().for_each(f),
        AstNode::Call { procedure, args } => {
            f(procedure);
            args.iter().for_each(f);
        }
        AstNode::Lambda { body, .. } => f(body),
        AstNode::Array(items) | AstNode::Block(items) | AstNode::ArrayGroup(items) => {
            items.iter().for_each(f);
        }
        AstNode::Object(pairs) => {
            for (key, value) in pairs {
                f(key);
                f(value);
            }
        }
        AstNode::ObjectTransform { input, pattern } => {
            f(input);
            for (key, value) in pattern {
                f(key);
                f(value);
            }
        }
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            f(condition);
            f(then_branch);
            if let Some(else_branch) = else_branch {
                f(else_branch);
            }
        }
        AstNode::FunctionApplication(inner) => f(inner),
        AstNode::Sort { input, terms } => {
            f(input);
            for (term, _) in terms {
                f(term);
            }
        }
        AstNode::Transform {
            location,
            update,
            delete,
        } => {
            f(location);
            f(update);
            if let Some(delete) = delete {
                f(delete);
            }
        }
        AstNode::String(_)
        | AstNode::Name(_)
        | AstNode::Number(_)
        | AstNode::Boolean(_)
        | AstNode::Null
        | AstNode::Undefined
        | AstNode::Placeholder
        | AstNode::Regex { .. }
        | AstNode::Variable(_)
        | AstNode::ParentVariable(_)
        | AstNode::Wildcard
        | AstNode::Descendant
        | AstNode::Parent(_) => {}
    }
}

/// The workflow variables `ast` reads; see [`super::Expression::free_variables`].
pub(super) fn free_variables(ast: &AstNode) -> Vec<String> {
    let mut scopes = Scopes {
        frames: Vec::new(),
        lambda_depth: 0,
        path_bound: HashSet::new(),
        found: Vec::new(),
    };
    collect_path_bindings(ast, &mut scopes.path_bound);
    scopes.visit(ast);
    scopes.found
}

/// One scope: a block's or a function's.
struct Frame {
    /// Every name bound in it, wherever.
    all: HashSet<String>,
    /// The names bound so far, in evaluation order.
    so_far: HashSet<String>,
    /// How many functions enclose the frame.
    lambda_depth: usize,
}

struct Scopes {
    frames: Vec<Frame>,
    lambda_depth: usize,
    /// `@$focus` and `#$index` names, taken as bound everywhere.
    path_bound: HashSet<String>,
    found: Vec<String>,
}

impl Scopes {
    fn visit(&mut self, node: &AstNode) {
        match node {
            AstNode::Variable(name) => self.read(name),
            AstNode::Function { args, .. } => args.iter().for_each(|arg| self.visit(arg)),
            AstNode::Binary {
                op: jsonata_core::ast::BinaryOp::ColonEqual,
                lhs,
                rhs,
            } => {
                self.visit(rhs);
                match lhs.as_ref() {
                    AstNode::Variable(name) => {
                        if let Some(frame) = self.frames.last_mut() {
                            frame.so_far.insert(name.clone());
                        }
                    }
                    other => self.visit(other),
                }
            }
            AstNode::Block(items) => {
                self.push(items.iter(), HashSet::new());
                items.iter().for_each(|item| self.visit(item));
                self.frames.pop();
            }
            AstNode::Lambda { params, body, .. } => {
                self.lambda_depth += 1;
                self.push(
                    std::iter::once(body.as_ref()),
                    params.iter().cloned().collect(),
                );
                self.visit(body);
                self.frames.pop();
                self.lambda_depth -= 1;
            }
            _ => children(node, &mut |child| self.visit(child)),
        }
    }

    /// Opens a frame over `items`, with `bound` (parameters) bound from the start.
    fn push<'a>(&mut self, items: impl Iterator<Item = &'a AstNode>, bound: HashSet<String>) {
        let mut all = bound.clone();
        for item in items {
            collect_assignments(item, &mut all);
        }
        self.frames.push(Frame {
            all,
            so_far: bound,
            lambda_depth: self.lambda_depth,
        });
    }

    fn read(&mut self, name: &str) {
        if name.is_empty()
            || name == "states"
            || BUILTINS.split_whitespace().any(|builtin| builtin == name)
            || self.path_bound.contains(name)
            || self.found.iter().any(|found| found == name)
        {
            return;
        }
        // Inside a function defined in a frame, the body runs later: all of the frame's names
        // count. Directly in the frame, only those bound before this point.
        let bound = self.frames.iter().any(|frame| {
            if self.lambda_depth > frame.lambda_depth {
                frame.all.contains(name)
            } else {
                frame.so_far.contains(name)
            }
        });
        if !bound {
            self.found.push(name.to_owned());
        }
    }
}

/// The `:=` targets in `node` that bind in its frame (not inside nested blocks or functions).
fn collect_assignments(node: &AstNode, out: &mut HashSet<String>) {
    match node {
        AstNode::Block(_) | AstNode::Lambda { .. } => {}
        AstNode::Binary {
            op: jsonata_core::ast::BinaryOp::ColonEqual,
            lhs,
            rhs,
        } => {
            if let AstNode::Variable(name) = lhs.as_ref() {
                out.insert(name.clone());
            }
            collect_assignments(rhs, out);
        }
        _ => children(node, &mut |child| collect_assignments(child, out)),
    }
}

/// Every `@$focus` and `#$index` variable in `node`.
fn collect_path_bindings(node: &AstNode, out: &mut HashSet<String>) {
    if let AstNode::Path { steps } = node {
        for step in steps {
            out.extend(step.focus.iter().cloned());
            out.extend(step.index_var.iter().cloned());
        }
    }
    children(node, &mut |child| collect_path_bindings(child, out));
}
