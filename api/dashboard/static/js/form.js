// The submit form, built from the API's own OpenAPI schema of SearchSpec: every field with its
// default filled in, and the API's 422 answers shown next to the field they name.
import { element } from "./format.js";

export async function buildForm(form, openapi) {
  const schemas = openapi.components.schemas;
  const spec = schemas.SearchSpec;
  const fieldsets = Object.entries(spec.properties).map(([section, property]) =>
    sectionFieldset(section, resolve(schemas, property)),
  );
  form.querySelector(".sections").replaceChildren(...fieldsets);
}

const resolve = (schemas, property) => schemas[property.$ref.split("/").pop()];

function sectionFieldset(section, schema) {
  const fieldset = element("fieldset", { dataset: { field: section } });
  fieldset.append(element("legend", {}, section.replace("_", " ")));
  fieldset.append(element("p", { className: "field-error", dataset: { errorFor: section } }));
  for (const [name, property] of Object.entries(schema.properties)) {
    fieldset.append(field(`${section}.${name}`, property));
  }
  return fieldset;
}

// The non-null alternative of an optional field (anyOf [{type: integer}, {type: null}]).
function valueSchema(property) {
  const options = property.anyOf?.filter((option) => option.type !== "null");
  return { ...property, ...(options?.[0] ?? {}) };
}

function field(path, property) {
  const schema = valueSchema(property);
  const wrapper = element("div", { className: "field", dataset: { field: path } });
  const id = `field-${path.replace(".", "-")}`;
  wrapper.append(element("label", { for: id }, path.split(".")[1].replaceAll("_", " ")));
  wrapper.append(input(id, path, schema));
  const hint = [schema.description, range(schema)].filter(Boolean).join(" · ");
  if (hint) wrapper.append(element("small", { className: "hint" }, hint));
  wrapper.append(element("p", { className: "field-error", dataset: { errorFor: path } }));
  return wrapper;
}

function input(id, path, schema) {
  if (schema.enum) {
    const select = element("select", { id, name: path, dataset: { kind: "enum" } });
    select.append(...schema.enum.map((value) => element("option", { value }, value)));
    select.value = schema.default ?? schema.enum[0];
    return select;
  }
  if (schema.type === "array" && schema.items?.enum) return checkboxes(id, path, schema);
  if (schema.type === "boolean") {
    const box = element("input", { id, name: path, type: "checkbox", dataset: { kind: "boolean" } });
    box.checked = schema.default === true;
    return box;
  }
  const kind = schema.type === "integer" || schema.type === "number" ? "number" : "text";
  const control = element("input", { id, name: path, type: "text", dataset: { kind } });
  if (kind === "number") control.inputMode = "decimal";
  control.value = schema.default ?? "";
  control.placeholder = schema.default === undefined || schema.default === null ? "default" : "";
  return control;
}

function checkboxes(id, path, schema) {
  const group = element("div", { id, className: "choices", dataset: { kind: "array", name: path } });
  for (const value of schema.items.enum) {
    const box = element("input", { type: "checkbox", value });
    box.checked = (schema.default ?? []).includes(value);
    group.append(element("label", { className: "choice" }, box, value));
  }
  return group;
}

function range(schema) {
  const low = schema.minimum ?? schema.exclusiveMinimum, high = schema.maximum ?? schema.exclusiveMaximum;
  if (low === undefined && high === undefined) return "";
  return `${schema.exclusiveMinimum !== undefined ? ">" : "≥"} ${low ?? "–"}${high !== undefined ? `, ${schema.exclusiveMaximum !== undefined ? "<" : "≤"} ${high}` : ""}`;
}

// The body to send: empty fields are left out (the API fills their defaults); a number that does
// not parse is sent as typed, so the API's message about it lands next to the field.
export function collect(form) {
  const body = {};
  for (const wrapper of form.querySelectorAll(".field")) {
    const [section, name] = wrapper.dataset.field.split(".");
    const value = fieldValue(wrapper);
    if (value === undefined) continue;
    (body[section] ??= {})[name] = value;
  }
  return body;
}

function fieldValue(wrapper) {
  const group = wrapper.querySelector(".choices");
  if (group) return [...group.querySelectorAll("input:checked")].map((box) => box.value);
  const control = wrapper.querySelector("input, select");
  if (control.dataset.kind === "boolean") return control.checked;
  const raw = control.value.trim();
  if (raw === "") return undefined;
  if (control.dataset.kind !== "number") return raw;
  return Number.isNaN(Number(raw)) ? raw : Number(raw);
}

export function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  for (const node of form.querySelectorAll(".invalid")) node.classList.remove("invalid");
}

// Each problem goes next to its field, else its section, else under the form.
export function showErrors(form, problems) {
  for (const { field, message } of problems) {
    const target = errorSlot(form, field);
    target.textContent = target.textContent ? `${target.textContent}; ${message}` : message;
    target.closest(".field, fieldset")?.classList.add("invalid");
  }
}

function errorSlot(form, field) {
  for (let path = field; path; path = path.split(".").slice(0, -1).join(".")) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(path)}"]`);
    if (slot) return slot;
  }
  return form.querySelector(".form-error");
}
