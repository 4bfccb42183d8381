module github.com/concord-planning/concord

go 1.26
