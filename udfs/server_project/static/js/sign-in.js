// Sign in on leadbook's task pane: the token is kept in this add-in's storage, which the
// cell functions share (one runtime), so it is pasted once per Excel, not per workbook.
const KEY = "leadbook.token";
const form = document.getElementById("lb-sign-in");
const field = document.getElementById("lb-token");
const state = document.getElementById("lb-sign-in-state");

function show() {
  const saved = localStorage.getItem(KEY);
  state.textContent = saved
    ? "Signed in: the token is kept in this Excel. Paste a new one to replace it."
    : "Not signed in: paste the token whoever runs leadbook serve gave you.";
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const token = field.value.trim();
  if (token) localStorage.setItem(KEY, token);
  else localStorage.removeItem(KEY);
  field.value = "";
  show();
});
show();
