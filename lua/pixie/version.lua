-- Pixie's version and the skill API version it offers.
return {
  string = "0.1.0",
  skill_api = 1,
}
